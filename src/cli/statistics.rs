//! How intervals and verdicts are computed (shared by `run`, `compare` and
//! `check`), and the flags of `compare` and `check`.

use std::path::PathBuf;

use clap::Args;

use super::number::{int, real, Bounded};
use super::parse::{check, parse_list, without_repeats};
use crate::analysis::StatisticsOptions;
use crate::baseline::store;
use crate::config::{Against, CheckConfig, CompareConfig};
use crate::error::Error;
use crate::metrics::Metric;
use crate::stats::{BootstrapConfig, Thresholds};

/// A probability strictly between 0 and 1.
const FRACTION: Bounded<f64> = real(0.0, 1.0).above().below();

/// How intervals and changes are computed; shared by run, compare and check.
#[derive(Args, Debug)]
pub struct StatisticsArgs {
    /// Relative changes smaller than this are noise (0.02 is 2%).
    #[arg(long, default_value_t = 0.02, value_parser = real(0.0, 1.0).below())]
    pub noise_threshold: f64,
    /// A change counts only with a p-value below this.
    #[arg(long, default_value_t = 0.05, value_parser = FRACTION)]
    pub significance_level: f64,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = 0.95, value_parser = FRACTION)]
    pub confidence_level: f64,
    /// Bootstrap resamples per interval (large samples get fewer, never below 1000).
    #[arg(long, default_value_t = 10_000, value_parser = int(100usize, 1_000_000))]
    pub bootstrap_resamples: usize,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Result JSON files, or folders of them (one per sweep); the first is the reference.
    #[arg(required = true, num_args = 2.., value_name = "RESULT")]
    pub results: Vec<PathBuf>,
    /// Print Markdown tables.
    #[arg(long)]
    pub markdown: bool,
    #[command(flatten)]
    pub statistics: StatisticsArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Check against baseline NAME (saved with run --save-baseline NAME).
    #[arg(long, value_name = "NAME", conflicts_with = "against")]
    pub baseline: Option<String>,
    /// Check against this base result file instead; repeatable.
    #[arg(long, value_name = "RESULT.json")]
    pub against: Vec<PathBuf>,
    /// Result files to check; with --baseline and none given, the latest run
    /// of every benchmark that has the baseline.
    #[arg(value_name = "RESULT.json")]
    pub results: Vec<PathBuf>,
    /// Where baselines live (<result-dir>/baselines).
    #[arg(long, default_value = "results")]
    pub result_dir: PathBuf,
    /// Metrics that fail the check when they regress.
    #[arg(
        long,
        default_value = "ttft,tpot,itl,e2el,output_throughput",
        allow_hyphen_values = true
    )]
    pub metrics: String,
    #[command(flatten)]
    pub statistics: StatisticsArgs,
}

impl StatisticsArgs {
    /// The options; every value was range-checked as it was parsed.
    pub(super) fn options(&self, seed: u64) -> Result<StatisticsOptions, Error> {
        Ok(StatisticsOptions {
            bootstrap: BootstrapConfig {
                resamples: self.bootstrap_resamples,
                confidence_level: self.confidence_level,
                seed,
            },
            thresholds: Thresholds {
                noise: self.noise_threshold,
                significance: self.significance_level,
            },
        })
    }
}

impl CompareArgs {
    pub fn into_config(self) -> Result<CompareConfig, Error> {
        Ok(CompareConfig {
            statistics: self.statistics.options(0)?,
            inputs: self.results,
            markdown: self.markdown,
        })
    }
}

impl CheckArgs {
    pub fn into_config(self, warnings: &mut Vec<String>) -> Result<CheckConfig, Error> {
        let against = match self.baseline {
            Some(name) => {
                store::check_name(&name)?;
                Against::Baseline {
                    name,
                    result_dir: self.result_dir,
                }
            }
            None => {
                check(
                    !self.against.is_empty(),
                    "check needs --baseline NAME or --against RESULT.json",
                )?;
                check(
                    !self.results.is_empty(),
                    "check --against needs the result files to check",
                )?;
                Against::Files(self.against)
            }
        };
        let metrics = parse_list(&self.metrics, "--metrics", |m| {
            Metric::parse(m).ok_or_else(|| {
                format!("unknown metric '{m}' (use ttft, tpot, itl, e2el, output_throughput, request_throughput, total_token_throughput)")
            })
        })?;
        Ok(CheckConfig {
            against,
            results: self.results,
            metrics: without_repeats("--metrics", metrics, warnings),
            statistics: self.statistics.options(0)?,
        })
    }
}
