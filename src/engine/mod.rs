//! The engine interface: one poll-style trait that every backend implements.
//!
//! Poll-style fits every engine without contortions: vLLM is `add_request` +
//! `step()`, TensorRT-LLM's executor is `enqueueRequest` + `awaitResponses(timeout)`,
//! transformers' continuous batching is `add_request` + `get_result(timeout)`,
//! and an HTTP token stream is drained from a channel.
//!
//! Engines never read the clock for metrics: the driver timestamps every
//! [`Event`] when `poll` hands it over. Engine-side timestamps, where an engine
//! has them, travel as [`Event::EngineStats`] and are kept beside ours.

pub mod args;
#[cfg(feature = "hf")]
pub mod hf;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "python")]
pub mod python;
pub mod sim;
/// Always built: its pure parts (versions, engine layout) serve `doctor`.
pub mod trtllm;
#[cfg(feature = "trtllm-pytorch")]
pub mod trtllm_pytorch;
#[cfg(feature = "vllm")]
pub mod vllm;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Dense request index, `0..n` within one run (warm-up requests use their own range).
pub type RequestId = u64;

/// Sampling settings passed through to the engine. Benchmarks default to greedy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SamplingParams {
    pub temperature: f32,
    pub top_p: f32,
    /// `None` leaves top-k off.
    pub top_k: Option<u32>,
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            top_k: None,
            seed: None,
        }
    }
}

/// One request as the engine receives it: token ids in, a token budget out.
#[derive(Clone, Debug)]
pub struct EngineRequest {
    pub id: RequestId,
    pub prompt_token_ids: Arc<[u32]>,
    pub max_output_tokens: u32,
    /// Keep generating past end-of-sequence so output lengths match the workload.
    pub ignore_eos: bool,
    pub sampling: SamplingParams,
}

/// What an engine hands over from one `poll`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `tokens` new output tokens for request `id`; `finished` on its last delivery.
    Tokens {
        id: RequestId,
        tokens: u32,
        finished: bool,
    },
    /// The engine gave up on one request; the run goes on.
    Failed { id: RequestId, reason: String },
    /// The engine's own per-request timing or counters, kept in the detailed records.
    EngineStats {
        id: RequestId,
        stats: serde_json::Value,
    },
    /// Every token id a finished request generated, from engines asked for
    /// them ([`Engine::hand_over_answers`]); sent no later than the poll that
    /// delivers the request's last tokens. Conversations put them into the
    /// next round's prompt.
    Answer { id: RequestId, token_ids: Vec<u32> },
}

/// Engine failures are values. `Rejected` concerns one request, `Fatal` the run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("request rejected by the engine: {0}")]
    Rejected(String),
    #[error("engine failed: {0}")]
    Fatal(String),
}

/// How an engine describes itself in every result file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineInfo {
    pub name: String,
    pub version: String,
    /// True for the simulated engine: its figures are a model, not a measurement.
    pub simulated: bool,
    pub model: Option<String>,
    pub tensor_parallel_size: u32,
    /// Longest prompt + output the engine accepts, when it knows.
    pub max_model_len: Option<u32>,
    /// Token ids must lie below this, when the engine knows.
    pub vocab_size: Option<u32>,
    pub settings: BTreeMap<String, String>,
}

/// The one interface the driver uses. Calls come from one thread.
pub trait Engine {
    fn describe(&self) -> EngineInfo;

    /// Hands one request to the engine. Must not block on generation.
    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError>;

    /// Waits at most about `timeout` for progress and appends what arrived to
    /// `events`. Engines that step synchronously (vLLM) may take one step longer.
    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError>;

    /// Stops generating for one request; no further events for it are needed.
    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError>;

    /// Forgets cached prefixes so that every concurrency level starts cold.
    fn reset_prefix_cache(&mut self) -> Result<(), EngineError> {
        Ok(())
    }

    /// From now on, hand over every finished request's generated token ids
    /// as an [`Event::Answer`]. Conversations with real answers need them;
    /// an engine that cannot give them says why (the default).
    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        Err(EngineConfigError(format!(
            "engine '{}' cannot hand over the token ids it generates",
            self.describe().name
        )))
    }

    fn shutdown(&mut self) -> Result<(), EngineError>;
}

/// What the command line says about the engine to open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineOptions {
    pub model: Option<PathBuf>,
    pub tensor_parallel_size: u32,
    /// `--engine-arg key=value`, in the order given.
    pub args: Vec<(String, String)>,
    /// The run's end-of-sequence policy, for engines that fix it at start-up.
    pub ignore_eos: bool,
    /// `--python`: the interpreter of a Python engine's environment.
    pub python: Option<PathBuf>,
    /// `--tokenizer`: for engines that must turn token ids into text or count tokens.
    pub tokenizer: Option<PathBuf>,
    /// Where an HTTP engine's server is and how long to wait for it.
    pub http: HttpOptions,
    /// Trials begun before this engine was opened. With `--trial-isolation`
    /// engine or process each trial opens an engine of its own; an engine
    /// that simulates run-to-run variation (the sim) then draws trial
    /// `first_trial`'s variation, not the first trial's every time.
    pub first_trial: u64,
}

/// The command line's settings for engines behind an HTTP server
/// (`openai`, `triton`). Other engines ignore them.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpOptions {
    /// `http://host:port`, without a trailing slash.
    pub base_url: String,
    /// Path of the streaming endpoint; `None` takes the engine's default.
    pub endpoint: Option<String>,
    /// Model name sent to the server; `None` takes `--model` as written.
    pub served_model_name: Option<String>,
    /// Environment variable holding the API key; its value is never stored in results.
    pub api_key_env: String,
    pub connect_timeout: Duration,
    /// From submission to the first token.
    pub first_token_timeout: Duration,
    /// Longest gap between two token-bearing events once tokens flow.
    pub idle_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8000".into(),
            endpoint: None,
            served_model_name: None,
            api_key_env: "OPENAI_API_KEY".into(),
            connect_timeout: Duration::from_secs(10),
            first_token_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Errors in how an engine was asked for: unknown name, bad settings.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct EngineConfigError(pub String);

/// Engines this build can open, for `--help` and error messages.
#[allow(unused_mut)] // mutated only when an engine feature is on
pub fn available() -> Vec<&'static str> {
    let mut names = vec![sim::NAME];
    #[cfg(feature = "vllm")]
    names.push(vllm::NAME);
    #[cfg(feature = "hf")]
    names.push(hf::NAME);
    #[cfg(feature = "trtllm-pytorch")]
    names.push(trtllm_pytorch::NAME);
    #[cfg(feature = "trtllm")]
    names.push(trtllm::NAME);
    #[cfg(feature = "http")]
    names.extend([http::openai::NAME, http::triton::NAME]);
    names
}

/// Fails for a name this build cannot open, listing the ones it can.
pub fn check_name(name: &str) -> Result<(), EngineConfigError> {
    if available().contains(&name) {
        Ok(())
    } else {
        Err(unknown_engine(name))
    }
}

fn unknown_engine(name: &str) -> EngineConfigError {
    EngineConfigError(format!(
        "unknown engine '{name}' (this build has: {})",
        available().join(", ")
    ))
}

/// Opens the engine named on the command line. A key given twice in
/// `--engine-arg` is warned about here, for every engine: the last value is
/// used.
pub fn open(name: &str, options: &EngineOptions) -> Result<Box<dyn Engine>, EngineConfigError> {
    for warning in args::EngineArgs::new(name, &options.args).warnings() {
        crate::process::console::warn(&warning);
    }
    match name {
        sim::NAME => Ok(Box::new(sim::SimEngine::from_options(options)?)),
        #[cfg(feature = "vllm")]
        vllm::NAME => Ok(Box::new(vllm::open(options)?)),
        #[cfg(feature = "hf")]
        hf::NAME => Ok(Box::new(hf::open(options)?)),
        #[cfg(feature = "trtllm-pytorch")]
        trtllm_pytorch::NAME => Ok(Box::new(trtllm_pytorch::open(options)?)),
        #[cfg(feature = "trtllm")]
        trtllm::NAME => Ok(Box::new(trtllm::TrtllmEngine::from_options(options)?)),
        #[cfg(feature = "http")]
        http::openai::NAME => Ok(Box::new(http::openai::open(options)?)),
        #[cfg(feature = "http")]
        http::triton::NAME => Ok(Box::new(http::triton::open(options)?)),
        other => Err(unknown_engine(other)),
    }
}

/// An open engine, shut down however its user ends: by
/// [`OpenEngine::shutdown`] on the way out, or when dropped (an error, a
/// panic unwinding) if that was not reached. Owned, so that a sweep can
/// close it and open a fresh one per trial (`--trial-isolation`).
pub struct OpenEngine {
    engine: Box<dyn Engine>,
    shut_down: bool,
}

impl OpenEngine {
    /// Opens engine `name` with `options` ([`open`]).
    pub fn open(name: &str, options: &EngineOptions) -> Result<Self, EngineConfigError> {
        Ok(Self::new(open(name, options)?))
    }

    /// Takes `engine` over: it is shut down when this is dropped.
    pub fn new(engine: Box<dyn Engine>) -> Self {
        Self {
            engine,
            shut_down: false,
        }
    }

    pub fn get(&mut self) -> &mut dyn Engine {
        self.engine.as_mut()
    }

    /// Shuts the engine down, once: a second call does nothing.
    pub fn shutdown(&mut self) -> Result<(), EngineError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        self.engine.shutdown()
    }
}

impl Drop for OpenEngine {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            crate::process::console::warn(&format!("engine shutdown failed: {e}"));
        }
    }
}
