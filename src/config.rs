//! What each command was asked to do, every flag checked: plain data, no clap.
//! `cli/` turns the command line into these; `commands/` runs them; tests and
//! embedders can build them directly.

use std::path::{Path, PathBuf};

use crate::analysis::speed_of_light::level::GpuOptions;
use crate::analysis::validity::ValidityRules;
use crate::analysis::StatisticsOptions;
use crate::baseline::BenchmarkId;
use crate::engine::{EngineOptions, SamplingParams};
use crate::metrics::{LatencyMetric, Metric, Slos};
use crate::render::plot::Format;
use crate::schedule::ramp::RampUp;
use crate::schedule::{Pace, RequestRate};
use crate::sweep::isolation::{Relaunch, TrialIsolation, TrialWorker};
use crate::workload::WorkloadSpec;

/// One command, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Config {
    Run(Box<RunConfig>),
    Compare(CompareConfig),
    Check(CheckConfig),
    CalibrateNoise(Box<CalibrateConfig>),
    Env(EnvConfig),
    Plot(PlotConfig),
    Report(PlotConfig),
    Doctor(DoctorConfig),
}

/// `run`: one engine, one workload, one level after another.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    pub engine: String,
    pub engine_options: EngineOptions,
    pub workload: WorkloadSpec,
    /// Measured requests per trial (sessions, for conversations).
    pub num_prompts: usize,
    pub num_warmups: usize,
    pub seed: u64,
    pub rate: RequestRate,
    pub burstiness: f64,
    /// `--ramp-up-strategy` and its rates, in place of `rate`.
    pub ramp_up: Option<RampUp>,
    /// `--conversation-qps`: conversations paced as Production Stack's.
    pub pace: Option<Pace>,
    /// `--dry-run`: build the workload and schedule, print their figures, send nothing.
    pub dry_run: bool,
    /// One entry per level; `[None]` when no concurrency was given.
    pub concurrency_levels: Vec<Option<usize>>,
    pub ignore_eos: bool,
    /// `--max-failures`: stop after this many failed requests.
    pub max_failures: Option<usize>,
    /// `--max-failure-ratio`: a level whose failed requests are more than
    /// this share of those that ended fails the run (as does one where none
    /// completed).
    pub max_failure_ratio: f64,
    pub sampling: SamplingParams,
    /// What the terminal blocks print.
    pub percentile_metrics: Vec<LatencyMetric>,
    pub metric_percentiles: Vec<f64>,
    pub slos: Slos,
    pub output: OutputOptions,
    /// Trials per level (`--trials`).
    pub trials: usize,
    /// How trials are kept apart (`--trial-isolation`).
    pub trial_isolation: TrialIsolation,
    /// How to start this command again, for `--trial-isolation process`;
    /// `None` when the config was not made from a command line.
    pub relaunch: Option<Relaunch>,
    /// Set in a process started for one trial: run it and hand it back.
    pub trial_worker: Option<TrialWorker>,
    pub validity: ValidityRules,
    /// Bootstrap settings (seeded by `--seed`) and verdict thresholds.
    pub statistics: StatisticsOptions,
    pub baselines: BaselineOptions,
    /// The GPU the speed of light is computed for.
    pub gpu: GpuOptions,
}

/// Percentiles every result file carries, whatever is printed.
const SAVED_PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];

impl RunConfig {
    /// The percentiles summaries compute: p50, p90, p95, p99 and those printed, ascending.
    pub fn percentiles(&self) -> Vec<f64> {
        let mut percentiles = SAVED_PERCENTILES.to_vec();
        percentiles.extend(&self.metric_percentiles);
        percentiles.sort_by(f64::total_cmp);
        percentiles.dedup();
        percentiles
    }

    /// What the level at `concurrency` measures, for baselines and comparisons.
    pub fn benchmark_id(&self, concurrency: Option<usize>) -> BenchmarkId {
        let id = BenchmarkId::new(
            &self.engine,
            &self.model_id(),
            &self.workload,
            self.rate,
            self.burstiness,
            concurrency,
        );
        match self.timed_schedule() {
            Some(label) => id.with_schedule(label),
            None => id,
        }
    }

    /// The schedules that the rate, burstiness and concurrency do not name:
    /// `ramp-linear-2-20`, `paced-qps0.5`, `trace-replay`.
    fn timed_schedule(&self) -> Option<String> {
        let burst = match self.burstiness {
            1.0 => String::new(),
            b => format!("-burst{b}"),
        };
        if let Some(ramp) = &self.ramp_up {
            let strategy = ramp.strategy.name();
            return Some(format!(
                "ramp-{strategy}-{}-{}{burst}",
                ramp.start_rps, ramp.end_rps
            ));
        }
        if let Some(pace) = &self.pace {
            return Some(format!("paced-qps{}", pace.qps));
        }
        matches!(self.workload, WorkloadSpec::Trace(_)).then(|| "trace-replay".into())
    }

    /// The model name written in results: the model folder's name, or the engine's.
    pub fn model_id(&self) -> String {
        let model = self.engine_options.model.as_deref();
        model
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.engine.clone())
    }
}

/// Trials a side the gate defaults to (`--save-baseline`, `--baseline`): a
/// family of five watched metrics at 0.05 needs 5 for any split of the
/// trials to reach significance; 6 find a 10% change nine times in ten while
/// trials scatter by 3% (`docs/statistics-model.md`).
pub const GATE_TRIALS: usize = 6;
/// A/A trials `calibrate-noise` defaults to: ten measure a spread to about a
/// quarter of itself.
pub const CALIBRATION_TRIALS: usize = 10;
/// Trial isolation for gating runs and calibrations when none is asked for:
/// a fresh engine per trial, so that the engine's own warm state is sampled
/// as it is between CI jobs, at an engine start per trial. On a shared
/// machine the load between invocations outweighs what any isolation can
/// sample; interleaving (`--rerun-baseline`) is the remedy there (README
/// "The gate on a real engine", `benches/gate_vllm.sh`).
pub const GATE_ISOLATION: TrialIsolation = TrialIsolation::Engine;

/// Where results go.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputOptions {
    pub save_result: bool,
    pub save_detailed: bool,
    pub result_dir: PathBuf,
    pub result_filename: Option<String>,
    /// Plain progress lines instead of a bar.
    pub quiet: bool,
    /// Plots and an HTML report beside the results.
    pub report: bool,
}

/// `--save-baseline` and `--baseline` of `run`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BaselineOptions {
    /// Save each level's samples as this baseline.
    pub save_as: Option<String>,
    /// Judge each level against this baseline.
    pub against: Option<String>,
    /// Run the baseline's own setup again, its trials interleaved with this
    /// run's, and judge against those trials (`--rerun-baseline`).
    pub rerun: bool,
}

impl BaselineOptions {
    pub fn any(&self) -> bool {
        self.save_as.is_some() || self.against.is_some()
    }
}

/// `compare`: result files side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareConfig {
    /// Result files or folders of them; the first is the reference.
    pub inputs: Vec<PathBuf>,
    pub markdown: bool,
    pub statistics: StatisticsOptions,
}

/// `check`: the regression gate.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckConfig {
    pub against: Against,
    /// New result files; empty with a baseline: the latest run of every benchmark that has it.
    pub results: Vec<PathBuf>,
    pub metrics: Vec<Metric>,
    pub statistics: StatisticsOptions,
}

/// `calibrate-noise`: A/A trials of each level, their spread stored as the
/// noise thresholds of baseline `baseline`.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrateConfig {
    /// What to measure; it compares with no baseline and saves none.
    pub run: RunConfig,
    /// The baseline the thresholds are stored with.
    pub baseline: String,
}

/// What `check` judges new runs against.
#[derive(Clone, Debug, PartialEq)]
pub enum Against {
    /// Baseline NAME under `<result-dir>/baselines`.
    Baseline { name: String, result_dir: PathBuf },
    /// Base result files, matched to the new ones by benchmark id.
    Files(Vec<PathBuf>),
}

/// `env`: the machine.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvConfig {
    pub json: bool,
    pub calibrate: bool,
    pub device: usize,
    pub python: Option<PathBuf>,
}

/// `plot` and `report`: charts and the HTML page of result files.
#[derive(Clone, Debug, PartialEq)]
pub struct PlotConfig {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    pub formats: Vec<Format>,
    /// The files' names start with this.
    pub name: String,
}

/// `doctor`: the flags of the run it checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DoctorConfig {
    pub engine: String,
    pub model: Option<PathBuf>,
    pub tensor_parallel_size: u32,
    pub engine_args: Vec<(String, String)>,
    pub python: Option<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    pub ignore_eos: bool,
    /// For the HTTP engines.
    pub base_url: String,
}
