//! [`ResultDoc`]: the result file of one level, as a type. It holds
//! `vllm bench serve`'s keys, so tools written for vLLM's results read ours,
//! and enginebench's own: the engine, the machine, the statistics, the
//! baseline changes and the speed of light. Every output that reads results
//! (the HTML page, plots, `compare`, `check`) reads these fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::change::MetricChange;
use crate::analysis::speed_of_light::level::LevelSpeedOfLight;
use crate::analysis::{LevelAnalysis, MetricStats, Spread};
use crate::baseline::BenchmarkId;
use crate::engine::EngineInfo;
use crate::env::Environment;
use crate::metrics::traffic::Traffic;
use crate::metrics::{FailureCount, LatencyMetric, Metric, Slos, TrialThroughput};
use crate::render::percentile_label;
use crate::schedule::ramp::RampStrategy;
use crate::schedule::{Pace, RequestRate};
use crate::stats::{BootstrapConfig, Summary};
use crate::workload::WorkloadSpec;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultDoc {
    // vLLM's keys.
    /// `%Y%m%d-%H%M%S`, local time, when the sweep started.
    pub date: String,
    /// The engine's name.
    pub backend: String,
    pub model_id: String,
    /// Measured requests, every trial together.
    pub num_prompts: usize,
    pub request_rate: RequestRate,
    pub burstiness: f64,
    /// `null` when unbounded; a file without the key is refused rather
    /// than read as unbounded.
    #[serde(deserialize_with = "present_option")]
    pub max_concurrency: Option<usize>,
    /// Seconds, every trial together.
    pub duration: f64,
    pub completed: usize,
    /// Failed requests; cancelled ones (cut short by a stop signal or an
    /// engine failure) are counted apart, in `cancelled`.
    pub failed: usize,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub request_throughput: f64,
    /// `None` without `--goodput`.
    pub request_goodput: Option<f64>,
    pub output_throughput: f64,
    pub total_token_throughput: f64,
    /// `{mean,median,std,min,max,pNN}_{ttft,tpot,itl,e2el,queue_delay}_ms`:
    /// flat keys, as vLLM writes them (min, max and queue delay are ours);
    /// `null` where undefined (no request completed, no request with two
    /// output tokens for TPOT).
    #[serde(flatten)]
    pub latencies: LatencyKeys,

    // Ours.
    /// `null` without any delivery after a first one.
    pub mean_tokens_per_delivery: Option<f64>,
    pub engine: EngineInfo,
    pub simulated: bool,
    pub tensor_parallel_size: u32,
    /// `offline`, `closed-loop` or `open-loop`.
    pub schedule: String,
    pub workload: WorkloadSpec,
    pub seed: u64,
    pub num_warmups: usize,
    pub goodput_slos_ms: Slos,
    pub cancelled: usize,
    /// Requests handed to the engine: completed + failed + cancelled.
    /// (Absent from files of versions that did not write it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<usize>,
    /// Why the level fails the run though it ran: no request completed, or
    /// more failed than `--max-failure-ratio` allows. Absent when it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Why requests failed, most common first; absent when none failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_reasons: Vec<FailureCount>,
    pub environment: Environment,
    pub interrupted: bool,
    pub fatal_error: Option<String>,
    /// The first trial's detailed records (`--save-detailed`).
    pub detailed_file: Option<String>,
    /// Every trial's, when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_files: Option<Vec<String>>,
    pub warnings: Vec<String>,
    pub benchmark_id: BenchmarkId,
    pub trials: usize,
    pub num_prompts_per_trial: usize,
    pub trial_results: Vec<TrialThroughput>,
    pub statistics: StatisticsDoc,
    /// Empty with one trial.
    pub throughput_spread: ThroughputSpread,
    /// The changes against `--baseline`, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineDoc>,
    /// The samples file, relative to the result file's folder.
    pub samples_file: Option<String>,
    pub speed_of_light: SpeedOfLightDoc,
    /// `--ramp-up-strategy` and its rates, under vLLM's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_up_strategy: Option<RampStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_up_start_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_up_end_rps: Option<f64>,
    /// `--conversation-qps`: conversations paced as Production Stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pace: Option<Pace>,
    /// Requests scheduled per second (and a ramp's plan), prefix reuse,
    /// a conversation's rounds. (Not flattened: the latency keys take every
    /// key the document does not name.)
    #[serde(default, skip_serializing_if = "Traffic::is_empty")]
    pub traffic: Traffic,
}

/// An `Option` field that must be present, `null` or a value: serde reads
/// a missing `Option` as `None` unless told otherwise, and here `None`
/// means something (unbounded).
fn present_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

impl ResultDoc {
    /// The concurrency its benchmark id names (`c4`, `c-unbounded`), if that
    /// is the file's `max_concurrency`: `None` when the two disagree.
    pub fn consistent_concurrency(&self) -> Option<Option<usize>> {
        let label = self
            .max_concurrency
            .map_or("c-unbounded".into(), |c| format!("c{c}"));
        (self.benchmark_id.concurrency == label).then_some(self.max_concurrency)
    }

    /// Mean, median, std, min and max of a latency, in ms.
    pub fn latency(&self, metric: LatencyMetric) -> LatencyFigures {
        LatencyFigures::read(&self.latencies, metric.key())
    }

    /// Percentile `p` of a latency in ms, if the file has it (p50, p90, p95
    /// and p99 always).
    pub fn percentile(&self, metric: LatencyMetric, p: f64) -> Option<f64> {
        self.latencies
            .get(&format!("p{}", percentile_label(p)), metric.key())
    }

    /// A throughput as measured over the level (every trial together).
    pub fn throughput(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Latency(_) => None,
            Metric::OutputThroughput => Some(self.output_throughput),
            Metric::RequestThroughput => Some(self.request_throughput),
            Metric::TotalTokenThroughput => Some(self.total_token_throughput),
        }
    }
}

/// vLLM's flat latency keys and their values, `None` (JSON `null`) for a
/// statistic of no values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LatencyKeys(BTreeMap<String, Option<f64>>);

impl LatencyKeys {
    /// `mean_ttft_ms`, `median_`, `std_`, `min_`, `max_`, `pNN_ttft_ms` for
    /// one summary; all `null` for a summary of nothing.
    pub fn insert(&mut self, key: &str, s: &Summary) {
        let defined = |v: f64| (s.count > 0).then_some(v);
        let stats = [
            ("mean", s.mean),
            ("median", s.median),
            ("std", s.std),
            ("min", s.min),
            ("max", s.max),
        ];
        for (stat, value) in stats {
            self.0.insert(format!("{stat}_{key}_ms"), defined(value));
        }
        for &(p, value) in &s.percentiles {
            self.0
                .insert(format!("p{}_{key}_ms", percentile_label(p)), defined(value));
        }
    }

    /// `stat` (`mean`, `p99`, ...) of `key` (`ttft`, `queue_delay`, ...),
    /// if the file has it and it is defined.
    pub fn get(&self, stat: &str, key: &str) -> Option<f64> {
        self.0.get(&format!("{stat}_{key}_ms")).copied().flatten()
    }
}

/// Mean, median, std, min and max of one latency, in ms; `None` when
/// undefined (a level that completed nothing) or absent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencyFigures {
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl LatencyFigures {
    fn read(keys: &LatencyKeys, key: &str) -> Self {
        let get = |stat: &str| keys.get(stat, key);
        Self {
            mean: get("mean"),
            median: get("median"),
            std: get("std"),
            min: get("min"),
            max: get("max"),
        }
    }
}

/// Bootstrap intervals and outliers per latency (also a baseline folder's
/// `estimates.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsDoc {
    pub confidence_level: f64,
    pub bootstrap_seed: u64,
    pub ttft_ms: MetricStats,
    pub tpot_ms: MetricStats,
    pub itl_ms: MetricStats,
    pub e2el_ms: MetricStats,
}

impl StatisticsDoc {
    /// The statistics of a level's analysis.
    pub fn of(analysis: &LevelAnalysis, bootstrap: &BootstrapConfig) -> Self {
        let stats = |m: LatencyMetric| {
            let stats = analysis.latency(m);
            stats
                .cloned()
                // Cannot fail: analysis fills every latency metric of a level.
                .expect("a level is analysed for every latency")
        };
        Self {
            confidence_level: bootstrap.confidence_level,
            bootstrap_seed: bootstrap.seed,
            ttft_ms: stats(LatencyMetric::Ttft),
            tpot_ms: stats(LatencyMetric::Tpot),
            itl_ms: stats(LatencyMetric::Itl),
            e2el_ms: stats(LatencyMetric::E2el),
        }
    }

    pub fn get(&self, metric: LatencyMetric) -> &MetricStats {
        match metric {
            LatencyMetric::Ttft => &self.ttft_ms,
            LatencyMetric::Tpot => &self.tpot_ms,
            LatencyMetric::Itl => &self.itl_ms,
            LatencyMetric::E2el => &self.e2el_ms,
        }
    }
}

/// How each throughput varied between trials; every field absent with one trial.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThroughputSpread {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_throughput: Option<Spread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_throughput: Option<Spread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_token_throughput: Option<Spread>,
}

impl ThroughputSpread {
    /// The spreads of a level's analysis.
    pub fn of(analysis: &LevelAnalysis) -> Self {
        let mut spread = Self::default();
        for (metric, s) in &analysis.spread {
            spread.set(*metric, s.clone());
        }
        spread
    }

    pub fn get(&self, metric: Metric) -> Option<&Spread> {
        match metric {
            Metric::Latency(_) => None,
            Metric::OutputThroughput => self.output_throughput.as_ref(),
            Metric::RequestThroughput => self.request_throughput.as_ref(),
            Metric::TotalTokenThroughput => self.total_token_throughput.as_ref(),
        }
    }

    pub fn set(&mut self, metric: Metric, spread: Spread) {
        let slot = match metric {
            Metric::Latency(_) => return,
            Metric::OutputThroughput => &mut self.output_throughput,
            Metric::RequestThroughput => &mut self.request_throughput,
            Metric::TotalTokenThroughput => &mut self.total_token_throughput,
        };
        *slot = Some(spread);
    }
}

/// The baseline a level was judged against, and the changes found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineDoc {
    pub name: String,
    /// Its samples file.
    pub file: String,
    pub noise_threshold: f64,
    pub significance_level: f64,
    pub changes: Vec<MetricChange>,
}

/// The speed of light of a level, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpeedOfLightDoc {
    Figures(LevelSpeedOfLight),
    Skipped { skipped: String },
}
