//! `run`'s flags and their translation into a checked [`RunConfig`].

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::parse::{
    check, parse_concurrency, parse_engine_arg, parse_goodput, parse_list, parse_percentile,
    parse_rate,
};
use super::statistics::StatisticsArgs;
use crate::analysis::speed_of_light::level::GpuOptions;
use crate::analysis::validity::ValidityRules;
use crate::baseline::store;
use crate::config::{BaselineOptions, OutputOptions, RunConfig};
use crate::engine::{self, EngineOptions, HttpOptions, SamplingParams};
use crate::error::{usage, Error};
use crate::metrics::LatencyMetric;
use crate::workload::random::RandomSpec;
use crate::workload::shared_prefix::SharedPrefixSpec;
use crate::workload::WorkloadSpec;

/// Vocabulary assumed for random token ids when neither the flag nor the model says.
const DEFAULT_VOCAB_SIZE: u32 = 32_000;

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
    pub trials: TrialArgs,

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
    /// Seconds without a token, once tokens flow, before a request fails.
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
pub struct TrialArgs {
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
    pub statistics: StatisticsArgs,
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
            trials: self.trials.trials,
            validity: self.trials.validity()?,
            baselines: self.trials.baselines()?,
            statistics: self.trials.statistics.options(self.seed)?,
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

impl TrialArgs {
    fn validity(&self) -> Result<ValidityRules, Error> {
        check(self.trials >= 1, "--trials must be at least 1")?;
        check(
            self.min_duration.is_finite() && self.min_duration >= 0.0,
            "--min-duration must be a number of seconds >= 0",
        )?;
        Ok(ValidityRules {
            min_duration_s: self.min_duration,
        })
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
