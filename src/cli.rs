//! The command line (clap), and its translation into a checked [`RunConfig`].
//! Flags are named like `vllm bench serve`'s where one exists.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis::change::CompareOptions;
use crate::analysis::validity::ValidityRules;
use crate::analysis::Metric;
use crate::baseline::check::{Against, CheckConfig};
use crate::baseline::store;
use crate::engine::{self, EngineOptions, HttpOptions, SamplingParams};
use crate::error::{usage, Error};
use crate::metrics::Slos;
use crate::report::compare::CompareConfig;
use crate::report::env_command::EnvConfig;
use crate::report::plot::Format;
use crate::report::report_command::PlotConfig;
use crate::report::speed_of_light::level::GpuOptions;
use crate::report::LatencyMetric;
use crate::schedule::RequestRate;
use crate::stats::{BootstrapConfig, Thresholds};
use crate::workload::random::RandomSpec;
use crate::workload::shared_prefix::SharedPrefixSpec;
use crate::workload::WorkloadSpec;

/// Vocabulary assumed for random token ids when neither the flag nor the model says.
const DEFAULT_VOCAB_SIZE: u32 = 32_000;

#[derive(Parser, Debug)]
#[command(
    name = "enginebench",
    version,
    about = "Measures LLM inference engines in-process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Benchmark one engine over one or more concurrency levels.
    #[command(args_override_self = true)]
    Run(Box<RunArgs>),
    /// Compare result files side by side: one table per concurrency level,
    /// with intervals, speedups and verdicts against the first.
    Compare(CompareArgs),
    /// Regression gate: exit 1 when a watched metric regressed against a
    /// baseline, 0 when none did, 2 on bad input. JSON summary on stdout.
    Check(CheckArgs),
    /// The machine: OS, CPU, memory, GPUs (through the CUDA driver, when there
    /// is one) and engine versions of the Python environment.
    Env(EnvArgs),
    /// Plots of result files: each metric against concurrency with a line
    /// per sweep, latency CDFs, a timeline of one run.
    Plot(PlotArgs),
    /// One self-contained HTML page of result files: tables, plots, engine,
    /// environment, speed of light and verdicts against a baseline.
    Report(PlotArgs),
    /// Before a long run: checks everything a run of one engine needs
    /// (package and version, libraries, engine directory, MPI, GPUs), one line
    /// per check; exit 1 when a run cannot start.
    Doctor(DoctorArgs),
}

/// `doctor`: the flags of the run it precedes.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Engine to check.
    #[arg(long)]
    pub engine: String,
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub tp: u32,
    /// Engine setting, repeatable, as for `run`.
    #[arg(long = "engine-arg", value_name = "KEY=VALUE")]
    pub engine_args: Vec<String>,
    /// Python interpreter of the engine's environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Tokenizer / Hugging Face model folder (where trtllm finds the end token).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// The run ignores end-of-sequence: no end token is needed.
    #[arg(long)]
    pub ignore_eos: bool,
    /// HTTP engines: the server.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

impl DoctorArgs {
    pub fn into_config(self) -> Result<crate::doctor::DoctorConfig, Error> {
        Ok(crate::doctor::DoctorConfig {
            engine: self.engine,
            model: self.model,
            tensor_parallel_size: self.tp,
            engine_args: self
                .engine_args
                .iter()
                .map(|a| parse_engine_arg(a))
                .collect::<Result<_, _>>()?,
            python: self.python,
            tokenizer: self.tokenizer,
            ignore_eos: self.ignore_eos,
            base_url: self
                .base_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| HttpOptions::default().base_url),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlotFormat {
    Svg,
    Png,
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Result JSON files, or folders of them.
    #[arg(required = true, value_name = "RESULT")]
    pub results: Vec<PathBuf>,
    /// Where the files go (default: the first result's folder).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// File format of the plots; repeatable (default: svg and png).
    #[arg(long, value_enum)]
    pub format: Vec<PlotFormat>,
    /// The files' names start with this.
    #[arg(long, default_value = "enginebench")]
    pub name: String,
}

impl PlotArgs {
    pub fn into_config(self) -> PlotConfig {
        let output = self.output.unwrap_or_else(|| {
            let first = &self.results[0];
            match first.is_dir() {
                true => first.clone(),
                false => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            }
        });
        let mut formats: Vec<Format> = self
            .format
            .iter()
            .map(|f| match f {
                PlotFormat::Svg => Format::Svg,
                PlotFormat::Png => Format::Png,
            })
            .collect();
        if formats.is_empty() {
            formats = vec![Format::Svg, Format::Png];
        }
        formats.dedup();
        PlotConfig {
            inputs: self.results,
            output,
            formats,
            name: self.name,
        }
    }
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    /// Print JSON, as recorded in result files.
    #[arg(long)]
    pub json: bool,
    /// Measure the GPU's copy bandwidth and bf16 matmul rate; exit 1 when
    /// there is no GPU to measure.
    #[arg(long)]
    pub calibrate: bool,
    /// Which GPU --calibrate measures.
    #[arg(long, default_value_t = 0)]
    pub device: usize,
    /// Python interpreter of the engine environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

impl EnvArgs {
    pub fn into_config(self) -> EnvConfig {
        EnvConfig {
            json: self.json,
            calibrate: self.calibrate,
            device: self.device,
            python: self.python,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    Random,
    Prompts,
    Sharegpt,
    SharedPrefix,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Engine to drive.
    #[arg(long, default_value = "sim")]
    pub engine: String,
    /// Model folder (or name, for engines that resolve names).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Tensor-parallel size, passed through to the engine.
    #[arg(long, default_value_t = 1)]
    pub tp: u32,
    /// Python interpreter of the engine's environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// trtllm orchestrator mode: path to TensorRT-LLM's `executorWorker`
    /// (same as --engine-arg worker_path=PATH).
    #[arg(long, value_name = "PATH")]
    pub trtllm_worker: Option<PathBuf>,
    /// Engine setting, repeatable: --engine-arg max_batch_size=64.
    #[arg(long = "engine-arg", value_name = "KEY=VALUE")]
    pub engine_args: Vec<String>,

    /// Measured requests per concurrency level.
    #[arg(long, default_value_t = 1000)]
    pub num_prompts: usize,
    /// Requests run once before the first level and left out of the results.
    #[arg(long, default_value_t = 0)]
    pub num_warmups: usize,
    #[arg(long, value_enum, default_value_t = DatasetName::Random)]
    pub dataset_name: DatasetName,
    /// Prompts file (JSONL) or ShareGPT JSON.
    #[arg(long)]
    pub dataset_path: Option<PathBuf>,
    /// tokenizer.json, or a model folder holding one, for text prompts.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    #[arg(long, default_value_t = 1024)]
    pub random_input_len: u32,
    #[arg(long, default_value_t = 128)]
    pub random_output_len: u32,
    /// Lengths are drawn from [len * (1 - r), len * (1 + r)]; r in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub random_range_ratio: f64,
    /// Tokens shared by every random prompt.
    #[arg(long, default_value_t = 0)]
    pub random_prefix_len: u32,
    /// Token ids for random prompts, LO:HI (HI excluded); default: the model's vocabulary.
    #[arg(long, value_name = "LO:HI")]
    pub random_vocab_range: Option<String>,
    /// Output budget for ShareGPT requests instead of the completion's length.
    #[arg(long)]
    pub sharegpt_output_len: Option<u32>,
    /// Default output budget for prompts-file lines without "output_len".
    #[arg(long, default_value_t = 128)]
    pub prompts_output_len: u32,
    #[arg(long, default_value_t = 8)]
    pub shared_prefix_num_users: u32,
    #[arg(long, default_value_t = 2000)]
    pub shared_prefix_context_len: u32,
    #[arg(long, default_value_t = 50)]
    pub shared_prefix_question_len: u32,
    #[arg(long, default_value_t = 100)]
    pub shared_prefix_output_len: u32,

    /// Requests per second (N, N/s, N/min) or inf for all at once.
    #[arg(long, default_value = "inf")]
    pub request_rate: String,
    /// Gamma shape of the gaps between arrivals: 1 is Poisson, below 1 burstier.
    #[arg(long, default_value_t = 1.0)]
    pub burstiness: f64,
    /// Most requests in flight; a list sweeps: 16,64,128.
    #[arg(long, value_name = "N[,N...]", allow_hyphen_values = true)]
    pub max_concurrency: Option<String>,

    #[arg(long)]
    pub ignore_eos: bool,
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    #[arg(long)]
    pub top_k: Option<u32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Metrics whose percentiles are printed: ttft,tpot,itl,e2el.
    #[arg(long, default_value = "ttft,tpot,itl,e2el")]
    pub percentile_metrics: String,
    /// Percentiles printed per metric (p50, p90, p95, p99 are always saved).
    #[arg(long, default_value = "99")]
    pub metric_percentiles: String,
    /// Service-level objectives in ms for goodput: ttft:500 tpot:50 e2el:2000.
    #[arg(long, num_args = 1.., value_name = "KEY:MS")]
    pub goodput: Vec<String>,

    /// Write one result JSON per level.
    #[arg(long)]
    pub save_result: bool,
    /// Write every request's timestamps as JSONL, as each request completes.
    #[arg(long)]
    pub save_detailed: bool,
    #[arg(long, default_value = "results")]
    pub result_dir: PathBuf,
    /// Result file name; with several levels, "-concurrencyN" goes before the extension.
    #[arg(long)]
    pub result_filename: Option<String>,
    /// No progress bar: plain progress lines on stderr instead.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write plots and an HTML report next to the result files
    /// (implies --save-result).
    #[arg(long)]
    pub report: bool,

    /// GPU for the speed of light: H100-SXM, H100-PCIe, H200, A100-80GB,
    /// A100-40GB, L40S, L4, A10G, B200 (default: the GPU found, if built in).
    #[arg(long, value_name = "NAME")]
    pub gpu: Option<String>,
    /// Memory bandwidth in GB/s, overriding the GPU's.
    #[arg(long, value_name = "GB/S")]
    pub gpu_bandwidth: Option<f64>,
    /// Peak dense bf16 TFLOP/s, overriding the GPU's.
    #[arg(long, value_name = "TFLOP/S")]
    pub gpu_flops: Option<f64>,

    #[command(flatten)]
    pub stats: StatsArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    /// Stop the run after N failed requests (what was recorded is kept; exit 1).
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
}

/// Where an HTTP engine (`openai`, `triton`) finds its server. Named like
/// `vllm bench serve`'s flags.
#[derive(Args, Debug)]
pub struct HttpArgs {
    /// Server address, e.g. http://127.0.0.1:8000 (overrides --host and --port).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Streaming endpoint: /v1/completions (default) or /v1/chat/completions for
    /// openai; /v2/models/MODEL/generate_stream for triton.
    #[arg(long, value_name = "PATH")]
    pub endpoint: Option<String>,
    /// Model name sent to the server (default: --model as written).
    #[arg(long, value_name = "NAME")]
    pub served_model_name: Option<String>,
    /// Environment variable holding the API key, sent as a Bearer token.
    #[arg(long, value_name = "NAME", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Seconds to establish a connection.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds from submission to the first token before a request fails.
    #[arg(long, value_name = "S", default_value_t = 600.0)]
    pub first_token_timeout: f64,
    /// Seconds without a chunk, once tokens flow, before a request fails.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub idle_timeout: f64,
}

impl HttpArgs {
    fn options(&self) -> Result<HttpOptions, Error> {
        let seconds = |value: f64, flag: &str| {
            check(
                value.is_finite() && value > 0.0 && value < 1e9,
                &format!("{flag} must be a positive number of seconds"),
            )
            .map(|()| std::time::Duration::from_secs_f64(value))
        };
        Ok(HttpOptions {
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}:{}", self.host, self.port)),
            endpoint: self.endpoint.clone(),
            served_model_name: self.served_model_name.clone(),
            api_key_env: self.api_key_env.clone(),
            connect_timeout: seconds(self.connect_timeout, "--connect-timeout")?,
            first_token_timeout: seconds(self.first_token_timeout, "--first-token-timeout")?,
            idle_timeout: seconds(self.idle_timeout, "--idle-timeout")?,
        })
    }
}

/// Trials, validity and baselines of `run`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Runs each level N times (a fresh schedule seed per trial, the same
    /// workload) and reports the spread of throughputs between trials.
    #[arg(long, default_value_t = 1)]
    pub trials: usize,
    /// Trials shorter than this many seconds are flagged in the warnings.
    #[arg(long, default_value_t = 10.0)]
    pub min_duration: f64,
    /// Save each level's samples as baseline NAME under <result-dir>/baselines.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// Compare each level with baseline NAME and report the change per metric.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    #[command(flatten)]
    pub comparison: ComparisonArgs,
}

/// How intervals and changes are computed; shared by run, compare and check.
#[derive(Args, Debug)]
pub struct ComparisonArgs {
    /// Relative changes smaller than this are noise (0.02 is 2%).
    #[arg(long, default_value_t = 0.02)]
    pub noise_threshold: f64,
    /// A change counts only with a p-value below this.
    #[arg(long, default_value_t = 0.05)]
    pub significance_level: f64,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,
    /// Bootstrap resamples per interval (large samples get fewer, never below 1000).
    #[arg(long, default_value_t = 10_000)]
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
    pub comparison: ComparisonArgs,
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
    #[arg(long, default_value = "ttft,tpot,itl,e2el,output_throughput")]
    pub metrics: String,
    #[command(flatten)]
    pub comparison: ComparisonArgs,
}

/// Parses the command line. Help and version end with exit code 0; errors
/// print one line and end with 2.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, u8> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli.command),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(0)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{first} (see --help)");
            Err(2)
        }
    }
}

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

/// A run, every flag checked.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    pub engine: String,
    pub engine_options: EngineOptions,
    pub workload: WorkloadSpec,
    pub num_prompts: usize,
    pub num_warmups: usize,
    pub seed: u64,
    pub rate: RequestRate,
    pub burstiness: f64,
    /// One entry per level; `[None]` when no concurrency was given.
    pub concurrency_levels: Vec<Option<usize>>,
    pub ignore_eos: bool,
    /// `--max-failures`: stop after this many failed requests.
    pub max_failures: Option<usize>,
    pub sampling: SamplingParams,
    pub percentile_metrics: Vec<LatencyMetric>,
    pub metric_percentiles: Vec<f64>,
    pub slos: Slos,
    pub output: OutputOptions,
    pub stats: StatsOptions,
    /// The GPU the speed of light is computed for.
    pub gpu: GpuOptions,
}

/// Trials, intervals, validity rules and baselines of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsOptions {
    pub trials: usize,
    pub validity: ValidityRules,
    /// Bootstrap settings (seeded by `--seed`) and thresholds.
    pub compare: CompareOptions,
    pub save_baseline: Option<String>,
    pub baseline: Option<String>,
}

impl RunConfig {
    /// The model name written in results: the model folder's name, or the engine's.
    pub fn model_id(&self) -> String {
        let model = self.engine_options.model.as_deref();
        model
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.engine.clone())
    }
}

impl RunArgs {
    pub fn into_config(self) -> Result<RunConfig, Error> {
        engine::check_name(&self.engine)?;
        check(self.tp >= 1, "--tp must be at least 1")?;
        check(self.num_prompts >= 1, "--num-prompts must be at least 1")?;
        check(
            self.burstiness.is_finite() && self.burstiness > 0.0,
            "--burstiness must be a positive number",
        )?;
        check(
            (0.0..=2.0).contains(&self.temperature)
                && (0.0..=1.0).contains(&self.top_p)
                && self.top_p > 0.0,
            "--temperature must be in [0, 2] and --top-p in (0, 1]",
        )?;
        Ok(RunConfig {
            workload: self.workload_spec()?,
            engine_options: EngineOptions {
                model: self.model.clone(),
                tensor_parallel_size: self.tp,
                args: self.engine_settings()?,
                ignore_eos: self.ignore_eos,
                python: self.python.clone(),
                tokenizer: self.tokenizer_path(),
                http: self.http.options()?,
            },
            rate: parse_rate(&self.request_rate)?,
            concurrency_levels: match &self.max_concurrency {
                Some(list) => parse_concurrency(list)?.into_iter().map(Some).collect(),
                None => vec![None],
            },
            percentile_metrics: parse_list(
                &self.percentile_metrics,
                "--percentile-metrics",
                |m| {
                    LatencyMetric::parse(m)
                        .ok_or_else(|| format!("unknown metric '{m}' (use ttft, tpot, itl, e2el)"))
                },
            )?,
            metric_percentiles: parse_list(
                &self.metric_percentiles,
                "--metric-percentiles",
                parse_percentile,
            )?,
            slos: parse_goodput(&self.goodput)?,
            sampling: SamplingParams {
                temperature: self.temperature,
                top_p: self.top_p,
                top_k: self.top_k,
                seed: Some(self.seed),
            },
            stats: self.stats.options(self.seed)?,
            gpu: GpuOptions::parse(self.gpu.as_deref(), self.gpu_bandwidth, self.gpu_flops)
                .map_err(usage)?,
            output: OutputOptions {
                save_result: self.save_result || self.report,
                save_detailed: self.save_detailed,
                result_dir: self.result_dir,
                result_filename: self.result_filename,
                quiet: self.quiet,
                report: self.report,
            },
            engine: self.engine,
            num_prompts: self.num_prompts,
            num_warmups: self.num_warmups,
            seed: self.seed,
            burstiness: self.burstiness,
            ignore_eos: self.ignore_eos,
            max_failures: match self.max_failures {
                Some(0) => return Err(usage("--max-failures must be at least 1")),
                other => other,
            },
        })
    }

    fn workload_spec(&self) -> Result<WorkloadSpec, Error> {
        let (vocab_lo, vocab_hi) = self.vocab_range()?;
        let dataset_path = || {
            let path = self.dataset_path.clone().ok_or_else(|| {
                usage(
                    format!(
                        "--dataset-name {:?} needs --dataset-path",
                        self.dataset_name
                    )
                    .to_lowercase(),
                )
            })?;
            check(
                path.is_file(),
                &format!("dataset file not found: {}", path.display()),
            )?;
            Ok::<_, Error>(path)
        };
        Ok(match self.dataset_name {
            DatasetName::Random => {
                check(self.random_input_len >= 1, "--random-input-len must be at least 1")?;
                check(self.random_output_len >= 1, "--random-output-len must be at least 1")?;
                check(
                    (0.0..1.0).contains(&self.random_range_ratio),
                    "--random-range-ratio must be in [0, 1)",
                )?;
                WorkloadSpec::Random(RandomSpec {
                    input_len: self.random_input_len,
                    output_len: self.random_output_len,
                    range_ratio: self.random_range_ratio,
                    vocab_lo,
                    vocab_hi,
                    prefix_len: self.random_prefix_len,
                })
            }
            DatasetName::Prompts => {
                check(self.prompts_output_len >= 1, "--prompts-output-len must be at least 1")?;
                WorkloadSpec::PromptsFile {
                    path: dataset_path()?,
                    tokenizer: self.tokenizer_path(),
                    default_output_len: self.prompts_output_len,
                }
            }
            DatasetName::Sharegpt => WorkloadSpec::ShareGpt {
                path: dataset_path()?,
                tokenizer: self
                    .tokenizer_path()
                    .ok_or_else(|| usage("--dataset-name sharegpt needs --tokenizer (or a --model folder with tokenizer.json)"))?,
                output_len: self.sharegpt_output_len.filter(|&n| n > 0),
            },
            DatasetName::SharedPrefix => {
                let spec = SharedPrefixSpec {
                    num_users: self.shared_prefix_num_users,
                    context_len: self.shared_prefix_context_len,
                    question_len: self.shared_prefix_question_len,
                    output_len: self.shared_prefix_output_len,
                    vocab_lo,
                    vocab_hi,
                };
                check(
                    spec.num_users >= 1 && spec.question_len >= 1 && spec.output_len >= 1,
                    "--shared-prefix-num-users, -question-len and -output-len must be at least 1",
                )?;
                WorkloadSpec::SharedPrefix(spec)
            }
        })
    }

    /// `--engine-arg KEY=VALUE` in order, then `--trtllm-worker` as `worker_path`.
    fn engine_settings(&self) -> Result<Vec<(String, String)>, Error> {
        let mut settings: Vec<(String, String)> = self
            .engine_args
            .iter()
            .map(|a| parse_engine_arg(a))
            .collect::<Result<_, _>>()?;
        if let Some(worker) = &self.trtllm_worker {
            check(
                self.engine == "trtllm",
                "--trtllm-worker applies to --engine trtllm only",
            )?;
            settings.push(("worker_path".into(), worker.display().to_string()));
        }
        Ok(settings)
    }

    /// `--tokenizer`, else the model folder when it holds a tokenizer.json.
    fn tokenizer_path(&self) -> Option<PathBuf> {
        let from_model = self
            .model
            .as_ref()
            .filter(|m| m.join("tokenizer.json").is_file());
        self.tokenizer.clone().or_else(|| from_model.cloned())
    }

    /// `--random-vocab-range`, else `0:vocab_size` of the model's config.json.
    fn vocab_range(&self) -> Result<(u32, u32), Error> {
        let Some(range) = &self.random_vocab_range else {
            let model_vocab = self.model.as_deref().and_then(model_vocab_size);
            return Ok((0, model_vocab.unwrap_or(DEFAULT_VOCAB_SIZE)));
        };
        let bad = || {
            usage(format!(
                "--random-vocab-range '{range}': expected LO:HI with LO < HI"
            ))
        };
        let (lo, hi) = range.split_once(':').ok_or_else(bad)?;
        let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
        check(lo < hi, &bad().to_string())?;
        Ok((lo, hi))
    }
}

/// `vocab_size` from a model folder's config.json, when there is one.
/// (Hugging Face folders keep it at the top; TensorRT engine folders under `pretrained_config`.)
fn model_vocab_size(model: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(model.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let vocab = config
        .get("vocab_size")
        .or_else(|| config.get("pretrained_config")?.get("vocab_size"));
    vocab?.as_u64().map(|v| v as u32)
}

impl StatsArgs {
    fn options(&self, seed: u64) -> Result<StatsOptions, Error> {
        check(self.trials >= 1, "--trials must be at least 1")?;
        check(
            self.min_duration.is_finite() && self.min_duration >= 0.0,
            "--min-duration must be a number of seconds >= 0",
        )?;
        for name in self.save_baseline.iter().chain(&self.baseline) {
            store::check_name(name)?;
        }
        Ok(StatsOptions {
            trials: self.trials,
            validity: ValidityRules {
                min_duration_s: self.min_duration,
            },
            compare: self.comparison.options(seed)?,
            save_baseline: self.save_baseline.clone(),
            baseline: self.baseline.clone(),
        })
    }
}

impl ComparisonArgs {
    fn options(&self, seed: u64) -> Result<CompareOptions, Error> {
        let fraction = |v: f64| v.is_finite() && v > 0.0 && v < 1.0;
        check(
            self.noise_threshold.is_finite() && (0.0..1.0).contains(&self.noise_threshold),
            "--noise-threshold must be in [0, 1), e.g. 0.02 for 2%",
        )?;
        check(
            fraction(self.significance_level),
            "--significance-level must be in (0, 1), e.g. 0.05",
        )?;
        check(
            fraction(self.confidence_level),
            "--confidence-level must be in (0, 1), e.g. 0.95",
        )?;
        check(
            self.bootstrap_resamples >= 100,
            "--bootstrap-resamples must be at least 100",
        )?;
        Ok(CompareOptions {
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
            options: self.comparison.options(0)?,
            inputs: self.results,
            markdown: self.markdown,
        })
    }
}

impl CheckArgs {
    pub fn into_config(self) -> Result<CheckConfig, Error> {
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
        Ok(CheckConfig {
            against,
            results: self.results,
            metrics: parse_list(&self.metrics, "--metrics", |m| {
                Metric::parse(m).ok_or_else(|| {
                    format!("unknown metric '{m}' (use ttft, tpot, itl, e2el, output_throughput, request_throughput, total_token_throughput)")
                })
            })?,
            options: self.comparison.options(0)?,
        })
    }
}

fn check(ok: bool, message: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(usage(message))
    }
}

/// `10`, `10/s`, `600/min` or `inf`.
pub fn parse_rate(text: &str) -> Result<RequestRate, Error> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("inf") {
        return Ok(RequestRate::Infinite);
    }
    let (number, per_seconds) = match text.split_once('/') {
        None => (text, 1.0),
        Some((n, "s")) => (n, 1.0),
        Some((n, "min")) => (n, 60.0),
        Some((_, unit)) => {
            return Err(usage(format!(
                "--request-rate '{text}': unknown unit '{unit}' (use N, N/s, N/min or inf)"
            )))
        }
    };
    match number.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => {
            Ok(RequestRate::PerSecond(rate / per_seconds))
        }
        _ => Err(usage(format!(
            "--request-rate '{text}': expected a positive number of requests per second, or inf"
        ))),
    }
}

/// `16,64,128`: each a positive integer.
pub fn parse_concurrency(text: &str) -> Result<Vec<usize>, Error> {
    parse_list(text, "--max-concurrency", |item| {
        match item.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("'{item}' is not a positive integer")),
        }
    })
}

fn parse_percentile(item: &str) -> Result<f64, String> {
    match item.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("'{item}' is not a percentile in [0, 100]")),
    }
}

/// A non-empty comma-separated list, each item parsed by `parse_item`.
fn parse_list<T>(
    text: &str,
    flag: &str,
    parse_item: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Error> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(usage(format!("{flag} '{text}': empty item in the list")));
    }
    items
        .into_iter()
        .map(|item| parse_item(item).map_err(|why| usage(format!("{flag}: {why}"))))
        .collect()
}

/// `KEY=VALUE`.
fn parse_engine_arg(text: &str) -> Result<(String, String), Error> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().into(), value.trim().into()))
        }
        _ => Err(usage(format!("--engine-arg '{text}': expected KEY=VALUE"))),
    }
}

/// `ttft:500 tpot:50 e2el:2000`, in milliseconds.
pub fn parse_goodput(items: &[String]) -> Result<Slos, Error> {
    let mut slos = Slos::default();
    for item in items {
        let bad = |why: &str| usage(format!("--goodput '{item}': {why}"));
        let (key, value) = item
            .split_once(':')
            .ok_or_else(|| bad("expected KEY:MS, e.g. ttft:500"))?;
        let ms: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| bad("the objective must be a positive number of milliseconds"))?;
        let slot = match key.trim() {
            "ttft" => &mut slos.ttft_ms,
            "tpot" => &mut slos.tpot_ms,
            "e2el" => &mut slos.e2el_ms,
            _ => return Err(bad("unknown metric (use ttft, tpot or e2el)")),
        };
        if slot.replace(ms).is_some() {
            return Err(bad("metric given twice"));
        }
    }
    Ok(slos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_with_units() {
        assert_eq!(parse_rate("inf").unwrap(), RequestRate::Infinite);
        assert_eq!(parse_rate("4").unwrap(), RequestRate::PerSecond(4.0));
        assert_eq!(parse_rate("4/s").unwrap(), RequestRate::PerSecond(4.0));
        assert_eq!(parse_rate("120/min").unwrap(), RequestRate::PerSecond(2.0));
        assert!(parse_rate("4/h")
            .unwrap_err()
            .to_string()
            .contains("unknown unit 'h'"));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-3").is_err());
    }

    #[test]
    fn concurrency_lists() {
        assert_eq!(parse_concurrency("16,64, 128").unwrap(), vec![16, 64, 128]);
        assert!(parse_concurrency("16,0").is_err());
        assert!(parse_concurrency("16,,64").is_err());
        assert!(parse_concurrency("-1").is_err());
    }

    #[test]
    fn goodput_specs() {
        let slos = parse_goodput(&["ttft:500".into(), "tpot:50".into()]).unwrap();
        assert_eq!(
            (slos.ttft_ms, slos.tpot_ms, slos.e2el_ms),
            (Some(500.0), Some(50.0), None)
        );
        assert!(parse_goodput(&["ttft=500".into()]).is_err());
        assert!(parse_goodput(&["itl:5".into()]).is_err());
        assert!(parse_goodput(&["ttft:5".into(), "ttft:6".into()]).is_err());
    }
}
