//! The `trtllm` engine's settings (`--engine-arg key=value`), the engine
//! directory's layout (its `config.json`) and the MPI world it runs in.
//! Pure Rust: checked before any C++ runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

#[cfg(feature = "trtllm")]
use super::bridge::ffi::ExecutorSettings;
use crate::engine::args::EngineArgs;
use crate::engine::EngineConfigError;

/// The capacity scheduler policies, by their `--engine-arg` name.
const POLICIES: [&str; 3] = ["max_utilization", "guaranteed_no_evict", "static_batch"];

/// Executor settings. `None` keeps the engine's or the library's default.
#[derive(Clone, Debug, PartialEq)]
pub struct TrtllmConfig {
    pub max_batch_size: Option<u32>,
    pub max_num_tokens: Option<u32>,
    pub kv_cache_free_gpu_memory_fraction: Option<f32>,
    pub kv_cache_max_tokens: Option<u32>,
    pub enable_block_reuse: bool,
    /// Index into [`POLICIES`].
    pub capacity_scheduler_policy: u8,
    pub enable_chunked_context: bool,
    pub iter_stats_max_iterations: u32,
    /// `executorWorker` for orchestrator mode; leader mode without it.
    pub worker_path: Option<String>,
    /// How long the awaiting thread waits in one `awaitResponses` call.
    pub await_timeout_ms: u32,
    /// `end_id` / `pad_id`: override what the model's generation config says.
    pub end_id: Option<u32>,
    pub pad_id: Option<u32>,
}

impl Default for TrtllmConfig {
    /// Benchmark defaults: no prefix reuse (levels start cold, as every engine
    /// here), requests never evicted once started, chunked prefill on.
    fn default() -> Self {
        Self {
            max_batch_size: None,
            max_num_tokens: None,
            kv_cache_free_gpu_memory_fraction: None,
            kv_cache_max_tokens: None,
            enable_block_reuse: false,
            capacity_scheduler_policy: 1,
            enable_chunked_context: true,
            iter_stats_max_iterations: 1000,
            worker_path: None,
            await_timeout_ms: 10,
            end_id: None,
            pad_id: None,
        }
    }
}

/// The executor's sizes are `SizeType32`.
const I32_MAX: u64 = i32::MAX as u64;

impl TrtllmConfig {
    /// Applies `--engine-arg` settings; unknown keys and bad values are errors.
    pub fn with_args(self, pairs: &[(String, String)]) -> Result<Self, EngineConfigError> {
        let mut args = EngineArgs::new(super::NAME, pairs);
        let positive = |args: &mut EngineArgs, key| -> Result<Option<u32>, EngineConfigError> {
            Ok(args.take_positive(key, I32_MAX)?.map(|v| v as u32))
        };
        let token = |args: &mut EngineArgs, key| -> Result<Option<u32>, EngineConfigError> {
            Ok(args.take_u64_in(key, 0..=I32_MAX)?.map(|v| v as u32))
        };
        let defaults = self;
        let config = Self {
            max_batch_size: positive(&mut args, "max_batch_size")?.or(defaults.max_batch_size),
            max_num_tokens: positive(&mut args, "max_num_tokens")?.or(defaults.max_num_tokens),
            kv_cache_free_gpu_memory_fraction: args
                .take_f64_in("kv_cache_free_gpu_memory_fraction", f64::MIN_POSITIVE..=1.0)?
                .map(|f| f as f32)
                .or(defaults.kv_cache_free_gpu_memory_fraction),
            kv_cache_max_tokens: positive(&mut args, "kv_cache_max_tokens")?
                .or(defaults.kv_cache_max_tokens),
            enable_block_reuse: args
                .take_bool("enable_block_reuse")?
                .unwrap_or(defaults.enable_block_reuse),
            capacity_scheduler_policy: match args
                .take_choice("capacity_scheduler_policy", &POLICIES)?
            {
                Some(name) => POLICIES.iter().position(|p| *p == name).unwrap_or(1) as u8,
                None => defaults.capacity_scheduler_policy,
            },
            enable_chunked_context: args
                .take_bool("enable_chunked_context")?
                .unwrap_or(defaults.enable_chunked_context),
            iter_stats_max_iterations: positive(&mut args, "iter_stats_max_iterations")?
                .unwrap_or(defaults.iter_stats_max_iterations),
            worker_path: match args.take_string("worker_path") {
                Some(path) if Path::new(&path).is_file() => Some(path),
                Some(path) => {
                    return Err(EngineConfigError(format!(
                        "trtllm engine arg worker_path={path}: expected the path of an existing \
                         executorWorker executable"
                    )))
                }
                None => defaults.worker_path,
            },
            await_timeout_ms: positive(&mut args, "await_timeout_ms")?
                .unwrap_or(defaults.await_timeout_ms),
            end_id: token(&mut args, "end_id")?.or(defaults.end_id),
            pad_id: token(&mut args, "pad_id")?.or(defaults.pad_id),
        };
        args.finish()?;
        Ok(config)
    }

    #[cfg(feature = "trtllm")]
    pub(super) fn settings(&self, engine_dir: &Path) -> ExecutorSettings {
        let int = |v: Option<u32>| v.map_or(0, |v| v as i32);
        ExecutorSettings {
            engine_dir: engine_dir.display().to_string(),
            max_batch_size: int(self.max_batch_size),
            max_num_tokens: int(self.max_num_tokens),
            kv_cache_free_gpu_memory_fraction: self
                .kv_cache_free_gpu_memory_fraction
                .unwrap_or(0.0),
            kv_cache_max_tokens: int(self.kv_cache_max_tokens),
            enable_block_reuse: self.enable_block_reuse,
            capacity_scheduler_policy: self.capacity_scheduler_policy,
            enable_chunked_context: self.enable_chunked_context,
            iter_stats_max_iterations: self.iter_stats_max_iterations as i32,
            worker_path: self.worker_path.clone().unwrap_or_default(),
        }
    }

    /// The settings as written in results; defaults are named as such.
    pub fn describe(&self) -> BTreeMap<String, String> {
        let or_default = |v: Option<String>| v.unwrap_or_else(|| "engine default".into());
        let policy = POLICIES[usize::from(self.capacity_scheduler_policy).min(POLICIES.len() - 1)];
        let mode = match &self.worker_path {
            Some(path) => format!("orchestrator ({path})"),
            None => "leader".into(),
        };
        [
            (
                "max_batch_size",
                or_default(self.max_batch_size.map(|v| v.to_string())),
            ),
            (
                "max_num_tokens",
                or_default(self.max_num_tokens.map(|v| v.to_string())),
            ),
            (
                "kv_cache_free_gpu_memory_fraction",
                or_default(
                    self.kv_cache_free_gpu_memory_fraction
                        .map(|v| v.to_string()),
                ),
            ),
            (
                "kv_cache_max_tokens",
                or_default(self.kv_cache_max_tokens.map(|v| v.to_string())),
            ),
            ("enable_block_reuse", self.enable_block_reuse.to_string()),
            ("capacity_scheduler_policy", policy.to_string()),
            (
                "enable_chunked_context",
                self.enable_chunked_context.to_string(),
            ),
            (
                "iter_stats_max_iterations",
                self.iter_stats_max_iterations.to_string(),
            ),
            ("parallel_mode", mode),
            ("await_timeout_ms", self.await_timeout_ms.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// What an engine directory's `config.json` says about the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineLayout {
    pub tp: u32,
    pub pp: u32,
    pub vocab_size: Option<u32>,
    pub max_seq_len: Option<u32>,
}

impl EngineLayout {
    /// Reads `ENGINE_DIR/config.json` as `trtllm-build` writes it
    /// (`pretrained_config.mapping`, `build_config`; older `builder_config`).
    pub fn read(engine_dir: &Path) -> Result<Self, EngineConfigError> {
        let path = engine_dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            EngineConfigError(format!(
                "{}: {e} (--model must be a TensorRT engine directory built by trtllm-build)",
                path.display()
            ))
        })?;
        let config: Value = serde_json::from_str(&text)
            .map_err(|e| EngineConfigError(format!("{}: not valid JSON: {e}", path.display())))?;
        Ok(Self::from_json(&config))
    }

    pub fn from_json(config: &Value) -> Self {
        let number = |paths: &[&[&str]]| {
            paths.iter().find_map(|path| {
                let value = path.iter().try_fold(config, |v, key| v.get(key))?;
                value.as_u64().and_then(|n| u32::try_from(n).ok())
            })
        };
        Self {
            tp: number(&[
                &["pretrained_config", "mapping", "tp_size"],
                &["builder_config", "tensor_parallel"],
            ])
            .unwrap_or(1),
            pp: number(&[
                &["pretrained_config", "mapping", "pp_size"],
                &["builder_config", "pipeline_parallel"],
            ])
            .unwrap_or(1),
            vocab_size: number(&[
                &["pretrained_config", "vocab_size"],
                &["builder_config", "vocab_size"],
            ]),
            max_seq_len: number(&[
                &["build_config", "max_seq_len"],
                &["builder_config", "max_seq_len"],
            ]),
        }
    }

    /// `--tp` must match the engine, and the process layout must fit the mode.
    pub fn check(
        &self,
        tp: u32,
        config: &TrtllmConfig,
        world: &MpiWorld,
    ) -> Result<(), EngineConfigError> {
        if tp != self.tp {
            return Err(EngineConfigError(format!(
                "--tp {tp} does not match the engine's tensor parallel size {} (config.json): \
                 engines are built for one TP size, use --tp {}",
                self.tp, self.tp
            )));
        }
        let ranks = self.tp * self.pp;
        match (&config.worker_path, world.size) {
            (Some(_), size) if size > 1 => Err(EngineConfigError(format!(
                "orchestrator mode (worker_path) spawns its own {ranks} workers: run one process, \
                 not under mpirun -n {size}"
            ))),
            (None, size) if ranks > 1 && size != ranks => Err(EngineConfigError(format!(
                "the engine needs {ranks} ranks (tp {} x pp {}) but this is {size} process(es): \
                 run under mpirun -n {ranks}, or pass --engine-arg worker_path=PATH/executorWorker",
                self.tp, self.pp
            ))),
            _ => Ok(()),
        }
    }
}

/// The tokens that end a request, as the LLM API would set them: the C++
/// executor has no tokenizer, and an unset `endId` means -1 (never stop).
#[derive(Clone, Debug, PartialEq)]
pub struct EndTokens {
    /// `Request::endId`: the model's first end-of-sequence token.
    pub end_id: u32,
    /// `Request::padId`: the model's pad token, else the end token.
    pub pad_id: u32,
    /// Further end tokens (Llama 3 lists three), passed as one-token stop words.
    pub stop_ids: Vec<u32>,
    /// Where they came from, for the result's settings.
    pub source: String,
}

impl EndTokens {
    /// `end_id`/`pad_id` engine args first, else `generation_config.json`, else
    /// `config.json`, in each of `dirs` in order (the tokenizer's folder, then
    /// the engine's). `Ok(None)` when no file names an end token.
    pub fn resolve(
        config: &TrtllmConfig,
        dirs: &[&Path],
    ) -> Result<Option<Self>, EngineConfigError> {
        if let Some(end_id) = config.end_id {
            return Ok(Some(Self {
                end_id,
                pad_id: config.pad_id.unwrap_or(end_id),
                stop_ids: Vec::new(),
                source: "--engine-arg end_id".into(),
            }));
        }
        for dir in dirs {
            for file in ["generation_config.json", "config.json"] {
                let path = dir.join(file);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let json: Value = serde_json::from_str(&text).map_err(|e| {
                    EngineConfigError(format!("{}: not valid JSON: {e}", path.display()))
                })?;
                let ids = token_ids(&json["eos_token_id"]);
                let Some((&end_id, rest)) = ids.split_first() else {
                    continue;
                };
                let pad_id = config
                    .pad_id
                    .or_else(|| token_ids(&json["pad_token_id"]).first().copied())
                    .unwrap_or(end_id);
                return Ok(Some(Self {
                    end_id,
                    pad_id,
                    stop_ids: rest.to_vec(),
                    source: path.display().to_string(),
                }));
            }
        }
        Ok(None)
    }
}

/// `2`, `[128001, 128009]` or absent.
fn token_ids(value: &Value) -> Vec<u32> {
    let one = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// This process's place in an MPI job, from the launcher's environment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MpiWorld {
    pub rank: u32,
    pub size: u32,
}

impl MpiWorld {
    /// Open MPI, MPICH/Hydra (PMI) and PMIx variables; a lone process otherwise.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let read = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| var(n).and_then(|v| v.trim().parse::<u32>().ok()))
        };
        Self {
            rank: read(&["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]).unwrap_or(0),
            size: read(&["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"])
                .unwrap_or(1)
                .max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn engine_args_are_checked() {
        let config = TrtllmConfig::default()
            .with_args(&args(&[
                ("max_batch_size", "64"),
                ("kv_cache_free_gpu_memory_fraction", "0.85"),
                ("enable_block_reuse", "true"),
                ("capacity_scheduler_policy", "max_utilization"),
            ]))
            .unwrap();
        assert_eq!(config.max_batch_size, Some(64));
        assert_eq!(config.kv_cache_free_gpu_memory_fraction, Some(0.85));
        assert!(config.enable_block_reuse);
        assert_eq!(config.capacity_scheduler_policy, 0);
        for bad in [
            ("max_batch_size", "0"),
            ("kv_cache_free_gpu_memory_fraction", "1.5"),
            ("capacity_scheduler_policy", "fifo"),
            ("enable_chunked_context", "maybe"),
            ("worker_path", "/no/such/executorWorker"),
            ("max_batch", "4"),
        ] {
            let err = TrtllmConfig::default()
                .with_args(&args(&[bad]))
                .unwrap_err();
            assert!(err.0.contains(bad.0), "{err}");
            assert!(!err.0.contains('\n'));
        }
    }

    #[test]
    fn layout_comes_from_trtllm_build_config() {
        let layout = EngineLayout::from_json(&json!({
            "pretrained_config": {"vocab_size": 128256, "mapping": {"tp_size": 2, "pp_size": 1}},
            "build_config": {"max_seq_len": 8192}
        }));
        assert_eq!(
            layout,
            EngineLayout {
                tp: 2,
                pp: 1,
                vocab_size: Some(128256),
                max_seq_len: Some(8192)
            }
        );
        let old = EngineLayout::from_json(&json!({"builder_config": {"tensor_parallel": 4}}));
        assert_eq!((old.tp, old.pp), (4, 1));
    }

    #[test]
    fn tp_and_process_layout_must_fit() {
        let layout = EngineLayout::from_json(&json!({
            "pretrained_config": {"mapping": {"tp_size": 2, "pp_size": 1}}
        }));
        let lone = MpiWorld { rank: 0, size: 1 };
        let two = MpiWorld { rank: 0, size: 2 };
        let leader = TrtllmConfig::default();
        let orchestrator = TrtllmConfig {
            worker_path: Some("/opt/executorWorker".into()),
            ..TrtllmConfig::default()
        };
        assert!(layout
            .check(1, &leader, &two)
            .unwrap_err()
            .0
            .contains("--tp 1 does not match"));
        assert!(layout.check(2, &leader, &two).is_ok());
        assert!(layout
            .check(2, &leader, &lone)
            .unwrap_err()
            .0
            .contains("mpirun -n 2"));
        assert!(layout.check(2, &orchestrator, &lone).is_ok());
        assert!(layout.check(2, &orchestrator, &two).is_err());
    }

    #[test]
    fn end_tokens_follow_the_generation_config_as_the_llm_api_does() {
        let tokenizer = tempfile::tempdir().unwrap();
        let engine = tempfile::tempdir().unwrap();
        let config = TrtllmConfig::default();
        let dirs = [tokenizer.path(), engine.path()];
        assert_eq!(EndTokens::resolve(&config, &dirs).unwrap(), None);
        std::fs::write(
            engine.path().join("config.json"),
            r#"{"eos_token_id": 2, "pad_token_id": 0}"#,
        )
        .unwrap();
        let found = EndTokens::resolve(&config, &dirs).unwrap().unwrap();
        assert_eq!((found.end_id, found.pad_id), (2, 0));
        std::fs::write(
            tokenizer.path().join("generation_config.json"),
            r#"{"eos_token_id": [128001, 128008, 128009]}"#,
        )
        .unwrap();
        let found = EndTokens::resolve(&config, &dirs).unwrap().unwrap();
        assert_eq!(found.end_id, 128001);
        assert_eq!(found.pad_id, 128001, "no pad token: the end token pads");
        assert_eq!(found.stop_ids, [128008, 128009]);
        assert!(found.source.ends_with("generation_config.json"));
        let forced = TrtllmConfig {
            end_id: Some(7),
            ..TrtllmConfig::default()
        };
        let found = EndTokens::resolve(&forced, &dirs).unwrap().unwrap();
        assert_eq!((found.end_id, found.pad_id), (7, 7));
    }

    #[test]
    fn mpi_world_from_launcher_variables() {
        let ompi = MpiWorld::from_vars(|n| match n {
            "OMPI_COMM_WORLD_RANK" => Some("1".into()),
            "OMPI_COMM_WORLD_SIZE" => Some("2".into()),
            _ => None,
        });
        assert_eq!(ompi, MpiWorld { rank: 1, size: 2 });
        assert_eq!(MpiWorld::from_vars(|_| None), MpiWorld { rank: 0, size: 1 });
    }
}
