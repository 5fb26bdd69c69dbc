//! `run`'s flags and their translation into a checked [`RunConfig`].

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::number::{int, real, real32, Bounded};
use super::parse::{
    check, parse_concurrency, parse_engine_arg, parse_goodput, parse_list, parse_percentile,
    parse_rate, without_repeats,
};
use super::statistics::StatisticsArgs;
use super::traffic::TrafficArgs;
use crate::analysis::speed_of_light::level::GpuOptions;
use crate::analysis::validity::ValidityRules;
use crate::baseline::store;
use crate::config::{BaselineOptions, OutputOptions, RunConfig};
use crate::engine::{self, EngineOptions, HttpOptions, SamplingParams};
use crate::error::{usage, Error};
use crate::metrics::LatencyMetric;
use crate::schedule::RequestRate;
use crate::workload::random::RandomSpec;
use crate::workload::shared_prefix::SharedPrefixSpec;
use crate::workload::{WorkloadSpec, MAX_REQUEST_TOKENS};

/// Vocabulary assumed for random token ids when neither the flag nor the model says.
const DEFAULT_VOCAB_SIZE: u32 = 32_000;

/// Most requests a flag may ask for; the memory check refuses far fewer.
const MAX_REQUESTS: usize = 1_000_000_000_000;
/// Longest prompt or output a flag may ask for, in tokens.
const MAX_LENGTH: u32 = MAX_REQUEST_TOKENS as u32;
/// A prompt or output length: at least one token.
const LENGTH: Bounded<u32> = int(1, MAX_LENGTH);
/// Gamma shapes beyond these are a constant rate or a single burst, and
/// their gaps (up to the mean gap over the shape) stop being representable.
const BURSTINESS: Bounded<f64> = real(0.001, 1000.0);
const TEMPERATURE: Bounded<f32> = real32(0.0, 2.0);
const TOP_P: Bounded<f32> = real32(0.0, 1.0).above();
/// Timeouts: more than a week and a half is no timeout.
const SECONDS: Bounded<f64> = real(0.0, 1e6).above();
/// A level fails when more than 1% of its requests failed: beyond that a
/// p99 could be made of the requests that never finished.
pub const DEFAULT_MAX_FAILURE_RATIO: f64 = 0.01;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    Random,
    Prompts,
    Sharegpt,
    SharedPrefix,
    /// Multi-round conversations (random questions, or ShareGPT's with --dataset-path).
    Conversation,
    /// A Mooncake-format JSONL trace (--dataset-path), replayed at its timestamps.
    Trace,
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
    #[arg(long, default_value_t = 1, value_parser = int(1u32, 1024))]
    pub tp: u32,
    /// Python interpreter of the engine's environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// trtllm orchestrator mode: path to TensorRT-LLM's `executorWorker`
    /// (same as --engine-arg worker_path=PATH).
    #[arg(long, value_name = "PATH")]
    pub trtllm_worker: Option<PathBuf>,
    /// Engine setting, repeatable: --engine-arg max_batch_size=64.
    #[arg(
        long = "engine-arg",
        value_name = "KEY=VALUE",
        allow_hyphen_values = true
    )]
    pub engine_args: Vec<String>,

    /// Measured requests per concurrency level.
    #[arg(long, default_value_t = 1000, value_parser = int(1usize, MAX_REQUESTS))]
    pub num_prompts: usize,
    /// Requests run once before the first level and left out of the results.
    #[arg(long, default_value_t = 0, value_parser = int(0usize, MAX_REQUESTS))]
    pub num_warmups: usize,
    #[arg(long, value_enum, default_value_t = DatasetName::Random)]
    pub dataset_name: DatasetName,
    /// Prompts file (JSONL) or ShareGPT JSON.
    #[arg(long)]
    pub dataset_path: Option<PathBuf>,
    /// tokenizer.json, or a model folder holding one, for text prompts.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    #[arg(long, default_value_t = 1024, value_parser = LENGTH)]
    pub random_input_len: u32,
    #[arg(long, default_value_t = 128, value_parser = LENGTH)]
    pub random_output_len: u32,
    /// Lengths are drawn from [len * (1 - r), len * (1 + r)]; r in [0, 1).
    #[arg(long, default_value_t = 0.0, value_parser = real(0.0, 1.0).below())]
    pub random_range_ratio: f64,
    /// Tokens shared by every random prompt.
    #[arg(long, default_value_t = 0, value_parser = int(0u32, MAX_LENGTH))]
    pub random_prefix_len: u32,
    /// Token ids for random prompts, LO:HI (HI excluded); default: the model's vocabulary.
    #[arg(long, value_name = "LO:HI", allow_hyphen_values = true)]
    pub random_vocab_range: Option<String>,
    /// Output budget for ShareGPT requests instead of the completion's
    /// length (ShareGPT pairs hold at most 2048 tokens in all).
    #[arg(long, value_parser = int(1u32, 2048))]
    pub sharegpt_output_len: Option<u32>,
    /// Default output budget for prompts-file lines without "output_len".
    #[arg(long, default_value_t = 128, value_parser = LENGTH)]
    pub prompts_output_len: u32,
    #[arg(long, default_value_t = 8, value_parser = int(1u32, 1 << 20))]
    pub shared_prefix_num_users: u32,
    #[arg(long, default_value_t = 2000, value_parser = int(0u32, MAX_LENGTH))]
    pub shared_prefix_context_len: u32,
    #[arg(long, default_value_t = 50, value_parser = LENGTH)]
    pub shared_prefix_question_len: u32,
    #[arg(long, default_value_t = 100, value_parser = LENGTH)]
    pub shared_prefix_output_len: u32,

    /// Requests per second (N, N/s, N/min) or inf for all at once.
    #[arg(long, default_value = "inf", allow_hyphen_values = true)]
    pub request_rate: String,
    /// Gamma shape of the gaps between arrivals: 1 is Poisson, below 1 burstier.
    #[arg(long, default_value_t = 1.0, value_parser = BURSTINESS)]
    pub burstiness: f64,
    /// Most requests in flight; a list sweeps: 16,64,128.
    #[arg(long, value_name = "N[,N...]", allow_hyphen_values = true)]
    pub max_concurrency: Option<String>,

    #[arg(long)]
    pub ignore_eos: bool,
    #[arg(long, default_value_t = 0.0, value_parser = TEMPERATURE)]
    pub temperature: f32,
    #[arg(long, default_value_t = 1.0, value_parser = TOP_P)]
    pub top_p: f32,
    #[arg(long, value_parser = int(1u32, 1 << 20))]
    pub top_k: Option<u32>,
    #[arg(long, default_value_t = 0, value_parser = int(0u64, u64::MAX))]
    pub seed: u64,

    /// Metrics whose percentiles are printed: ttft,tpot,itl,e2el.
    #[arg(long, default_value = "ttft,tpot,itl,e2el", allow_hyphen_values = true)]
    pub percentile_metrics: String,
    /// Percentiles printed per metric (p50, p90, p95, p99 are always saved).
    #[arg(long, default_value = "99", allow_hyphen_values = true)]
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
    #[arg(long, value_name = "GB/S", value_parser = real(0.0, 1e6).above())]
    pub gpu_bandwidth: Option<f64>,
    /// Peak dense bf16 TFLOP/s, overriding the GPU's.
    #[arg(long, value_name = "TFLOP/S", value_parser = real(0.0, 1e6).above())]
    pub gpu_flops: Option<f64>,

    #[command(flatten)]
    pub trials: TrialArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub traffic: TrafficArgs,

    /// Stop the run after N failed requests (what was recorded is kept; exit 1).
    #[arg(long, value_name = "N", value_parser = int(1usize, MAX_REQUESTS))]
    pub max_failures: Option<usize>,
    /// A level fails the run (exit 1, its results still written) when more
    /// than this share of its requests failed, or when none completed.
    #[arg(long, value_name = "R", default_value_t = DEFAULT_MAX_FAILURE_RATIO, value_parser = real(0.0, 1.0))]
    pub max_failure_ratio: f64,

    /// The ids of the flags given on the command line, for the warnings
    /// about flags that do nothing (filled in by `cli::parse`).
    #[arg(skip)]
    pub given: Vec<String>,
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
    #[arg(long, default_value_t = 8000, value_parser = int(1u16, u16::MAX))]
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
    #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = SECONDS)]
    pub connect_timeout: f64,
    /// Seconds from submission to the first token before a request fails.
    #[arg(long, value_name = "S", default_value_t = 600.0, value_parser = SECONDS)]
    pub first_token_timeout: f64,
    /// Seconds without a token, once tokens flow, before a request fails.
    #[arg(long, value_name = "S", default_value_t = 60.0, value_parser = SECONDS)]
    pub idle_timeout: f64,
}

impl HttpArgs {
    fn options(&self) -> Result<HttpOptions, Error> {
        // The flags' parser took (0, 1e6] seconds: each converts exactly.
        let seconds = |value: f64, flag: &str| {
            std::time::Duration::try_from_secs_f64(value)
                .map_err(|_| usage(format!("{flag} '{value}': expected {}", SECONDS.describe())))
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
pub struct TrialArgs {
    /// Runs each level N times (a fresh schedule seed per trial, the same
    /// workload) and reports the spread of throughputs between trials.
    #[arg(long, default_value_t = 1, value_parser = int(1usize, 10_000))]
    pub trials: usize,
    /// Trials shorter than this many seconds are flagged in the warnings.
    #[arg(long, default_value_t = 10.0, value_parser = real(0.0, 1e7))]
    pub min_duration: f64,
    /// Save each level's samples as baseline NAME under <result-dir>/baselines.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// Compare each level with baseline NAME and report the change per metric.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    #[command(flatten)]
    pub statistics: StatisticsArgs,
}

impl RunArgs {
    /// The checked config; `warnings` gets a line per flag that does nothing.
    pub fn into_config(self, warnings: &mut Vec<String>) -> Result<RunConfig, Error> {
        engine::check_name(&self.engine)?;
        warnings.extend(self.unused_flags());
        let concurrency_levels = match &self.max_concurrency {
            Some(list) => without_repeats("--max-concurrency", parse_concurrency(list)?, warnings)
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![None],
        };
        let percentile_metrics =
            parse_list(&self.percentile_metrics, "--percentile-metrics", |m| {
                LatencyMetric::parse(m)
                    .ok_or_else(|| format!("unknown metric '{m}' (use ttft, tpot, itl, e2el)"))
            })?;
        let metric_percentiles = parse_list(
            &self.metric_percentiles,
            "--metric-percentiles",
            parse_percentile,
        )?;
        let workload = self.workload_spec()?;
        let rate = parse_rate(&self.request_rate)?;
        let ramp_up = self.traffic.ramp_up(rate)?;
        let rounds = match &workload {
            WorkloadSpec::Conversation(c) => Some(c.rounds),
            _ => None,
        };
        let timed = rate != RequestRate::Infinite || ramp_up.is_some();
        let pace = self
            .traffic
            .pace(rounds, timed, self.max_concurrency.is_some())?;
        if matches!(workload, WorkloadSpec::Trace(_)) {
            check(
                !timed,
                "--dataset-name trace replays the trace's timestamps: leave out --request-rate \
                     and the ramp-up (--trace-time-scale speeds it up or down)",
            )?;
        }
        Ok(RunConfig {
            workload,
            ramp_up,
            pace,
            dry_run: self.traffic.dry_run,
            engine_options: EngineOptions {
                model: self.model.clone(),
                tensor_parallel_size: self.tp,
                args: self.engine_settings()?,
                ignore_eos: self.ignore_eos,
                python: self.python.clone(),
                tokenizer: self.tokenizer_path(),
                http: self.http.options()?,
            },
            rate,
            concurrency_levels,
            percentile_metrics: without_repeats(
                "--percentile-metrics",
                percentile_metrics,
                warnings,
            ),
            metric_percentiles: without_repeats(
                "--metric-percentiles",
                metric_percentiles,
                warnings,
            ),
            slos: parse_goodput(&self.goodput)?,
            sampling: SamplingParams {
                temperature: self.temperature,
                top_p: self.top_p,
                top_k: self.top_k,
                seed: Some(self.seed),
            },
            trials: self.trials.trials,
            validity: self.trials.validity(),
            baselines: self.trials.baselines()?,
            statistics: self.trials.statistics.options(self.seed)?,
            gpu: GpuOptions::parse(self.gpu.as_deref(), self.gpu_bandwidth, self.gpu_flops)
                .map_err(usage)?,
            output: OutputOptions {
                result_filename: match self.result_filename {
                    Some(name) => Some(result_filename(name)?),
                    None => None,
                },
                save_result: self.save_result || self.report,
                save_detailed: self.save_detailed,
                result_dir: self.result_dir,
                quiet: self.quiet,
                report: self.report,
            },
            engine: self.engine,
            num_prompts: self.num_prompts,
            num_warmups: self.num_warmups,
            seed: self.seed,
            burstiness: self.burstiness,
            ignore_eos: self.ignore_eos,
            max_failures: self.max_failures,
            max_failure_ratio: self.max_failure_ratio,
        })
    }

    /// A line for each flag given that does nothing for this dataset,
    /// engine or schedule.
    fn unused_flags(&self) -> Vec<String> {
        let given = |id: &str| self.given.iter().any(|g| g == id);
        let dataset = format!("{:?}", self.dataset_name).to_lowercase();
        let http = ["openai", "triton"].contains(&self.engine.as_str());
        let python = ["vllm", "hf", "trtllm-pytorch"].contains(&self.engine.as_str());
        let saving = self.save_result || self.save_detailed || self.report;
        let mut unused: Vec<(&[&str], String)> = Vec::new();
        let for_dataset =
            |name: DatasetName| format!("is for --dataset-name {name:?} only").to_lowercase();
        let by_dataset: [(&[&str], &[DatasetName]); 6] = [
            (
                &["dataset_path"],
                &[
                    DatasetName::Prompts,
                    DatasetName::Sharegpt,
                    DatasetName::Conversation,
                    DatasetName::Trace,
                ],
            ),
            (
                &[
                    "random_input_len",
                    "random_output_len",
                    "random_range_ratio",
                    "random_prefix_len",
                ],
                &[DatasetName::Random],
            ),
            (
                &["random_vocab_range"],
                &[
                    DatasetName::Random,
                    DatasetName::SharedPrefix,
                    DatasetName::Conversation,
                    DatasetName::Trace,
                ],
            ),
            (&["sharegpt_output_len"], &[DatasetName::Sharegpt]),
            (&["prompts_output_len"], &[DatasetName::Prompts]),
            (
                &[
                    "shared_prefix_num_users",
                    "shared_prefix_context_len",
                    "shared_prefix_question_len",
                    "shared_prefix_output_len",
                ],
                &[DatasetName::SharedPrefix],
            ),
        ];
        for (ids, datasets) in by_dataset {
            if !datasets.contains(&self.dataset_name) {
                let why = match datasets {
                    [one] => for_dataset(*one),
                    _ => format!("does nothing with --dataset-name {dataset}"),
                };
                unused.push((ids, why));
            }
        }
        // Conversations read ShareGPT questions as text when given a file.
        let text_datasets = [
            DatasetName::Prompts,
            DatasetName::Sharegpt,
            DatasetName::Conversation,
        ];
        if !text_datasets.contains(&self.dataset_name) && !http {
            unused.push((
                &["tokenizer"],
                format!(
                    "does nothing with --dataset-name {dataset} and --engine {}",
                    self.engine
                ),
            ));
        }
        if !python {
            unused.push((
                &["python"],
                "is for the Python engines only (vllm, hf, trtllm-pytorch)".into(),
            ));
        }
        if !http {
            let flags: &[&str] = &[
                "base_url",
                "host",
                "port",
                "endpoint",
                "served_model_name",
                "api_key_env",
                "connect_timeout",
                "first_token_timeout",
                "idle_timeout",
            ];
            unused.push((
                flags,
                "is for the HTTP engines only (openai, triton)".into(),
            ));
        }
        if self.engine == engine::sim::NAME {
            unused.push((
                &["temperature", "top_p", "top_k"],
                "does nothing with the sim, which does not sample".into(),
            ));
        }
        if self.request_rate.trim().eq_ignore_ascii_case("inf") {
            unused.push((
                &["burstiness"],
                "does nothing with --request-rate inf".into(),
            ));
        }
        if !saving {
            unused.push((
                &["result_filename"],
                "does nothing without --save-result, --save-detailed or --report".into(),
            ));
        }
        let mut lines = Vec::new();
        for (ids, why) in unused {
            for id in ids.iter().filter(|id| given(id)) {
                lines.push(format!("--{} {why}", id.replace('_', "-")));
            }
        }
        lines
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
                output_len: self.sharegpt_output_len,
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
                WorkloadSpec::SharedPrefix(spec)
            }
            DatasetName::Conversation => {
                let dataset = match &self.dataset_path {
                    Some(_) => Some((dataset_path()?, self.tokenizer_path())),
                    None => None,
                };
                WorkloadSpec::Conversation(
                    self.traffic
                        .conversation(dataset, (vocab_lo, vocab_hi))?,
                )
            }
            DatasetName::Trace => {
                WorkloadSpec::Trace(self.traffic.trace(dataset_path()?, (vocab_lo, vocab_hi))?)
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
        let id = int(0u32, u32::MAX);
        let lo = id.parse(lo).map_err(|_| bad())?;
        let hi = id.parse(hi).map_err(|_| bad())?;
        check(lo < hi, &bad().to_string())?;
        Ok((lo, hi))
    }
}

/// `--result-filename`: a file name whose stem (without `.json`) is a
/// plain, visible name.
fn result_filename(name: String) -> Result<String, Error> {
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    super::check_file_stem("--result-filename", stem).map_err(|_| {
        usage(format!(
            "--result-filename '{name}': give a file name, not a path \
             (a name before .json, not starting with '.')"
        ))
    })?;
    Ok(name)
}

/// `vocab_size` from a model folder's config.json, when there is one.
/// (Hugging Face folders keep it at the top; TensorRT engine folders under `pretrained_config`.)
fn model_vocab_size(model: &Path) -> Option<u32> {
    let text = crate::process::memory::read_text(&model.join("config.json"), 16).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let vocab = config
        .get("vocab_size")
        .or_else(|| config.get("pretrained_config")?.get("vocab_size"));
    u32::try_from(vocab?.as_u64()?).ok()
}

impl TrialArgs {
    fn validity(&self) -> ValidityRules {
        ValidityRules {
            min_duration_s: self.min_duration,
        }
    }

    fn baselines(&self) -> Result<BaselineOptions, Error> {
        for name in self.save_baseline.iter().chain(&self.baseline) {
            store::check_name(name)?;
        }
        Ok(BaselineOptions {
            save_as: self.save_baseline.clone(),
            against: self.baseline.clone(),
        })
    }
}
