//! The engine: an executor behind the bridge, its awaiting thread and its bookkeeping.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use super::bridge::ffi::{self, Delivery, IterationSnapshot, RequestSpec};
use super::bridge::SharedExecutor;
use super::config::{EndTokens, EngineLayout, MpiWorld, TrtllmConfig};
use super::{version, NAME};
use crate::engine::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineOptions, EngineRequest, Event,
    RequestId,
};

/// The version the test double reports.
pub const TEST_DOUBLE_VERSION: &str = "test-double";

/// What the awaiting thread sends.
enum Message {
    Deliveries(Vec<Delivery>),
    /// `awaitResponses` threw: the executor is unusable.
    Fatal(String),
}

/// Latest iteration statistics, shared with the awaiting thread.
#[derive(Default)]
struct IterationState {
    latest: Option<IterationSnapshot>,
    iterations_seen: u64,
}

pub struct TrtllmEngine {
    executor: Arc<SharedExecutor>,
    receiver: Receiver<Message>,
    stop: Arc<AtomicBool>,
    awaiter: Option<JoinHandle<()>>,
    iterations: Arc<Mutex<IterationState>>,
    /// Executor request id -> ours, for requests not yet final.
    ids: HashMap<u64, RequestId>,
    /// Once `hand_over_answers` asks: each unfinished request's generated ids.
    answers: Option<HashMap<RequestId, Vec<u32>>>,
    /// The model's end tokens; `None` only when the run ignores end-of-sequence.
    end: Option<EndTokens>,
    info: EngineInfo,
    shut_down: bool,
}

impl TrtllmEngine {
    pub fn from_options(options: &EngineOptions) -> Result<Self, EngineConfigError> {
        let engine_dir = options.model.clone().ok_or_else(|| {
            EngineConfigError(
                "the trtllm engine needs --model ENGINE_DIR (a TensorRT engine directory)".into(),
            )
        })?;
        let config = TrtllmConfig::default().with_args(&options.args)?;
        let layout = EngineLayout::read(&engine_dir)?;
        layout.check(options.tensor_parallel_size, &config, &MpiWorld::from_env())?;
        let end = end_tokens(&config, options, &engine_dir)?;
        let version = ffi::library_version();
        if let Some(problem) = version::problem(&version) {
            return Err(EngineConfigError(problem));
        }
        let settings = config.settings(&engine_dir);
        let fail = |e: cxx::Exception| EngineConfigError(format!("cannot start the executor: {e}"));
        ffi::init_plugins().map_err(fail)?;
        let executor = ffi::new_executor(&settings).map_err(fail)?;
        let executor = Arc::new(SharedExecutor(executor));
        let Some(handle) = executor.get() else {
            return Err(EngineConfigError(
                "the executor could not be created".into(),
            ));
        };
        if !handle.can_enqueue() {
            serve_as_worker(&executor);
        }
        let info = describe(&config, &layout, options, end.as_ref(), version);
        Ok(Self::start(executor, config.await_timeout_ms, end, info))
    }

    fn start(
        executor: Arc<SharedExecutor>,
        timeout_ms: u32,
        end: Option<EndTokens>,
        info: EngineInfo,
    ) -> Self {
        let (sender, receiver) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let iterations = Arc::new(Mutex::new(IterationState::default()));
        let awaiter = {
            let (executor, stop, iterations) = (executor.clone(), stop.clone(), iterations.clone());
            std::thread::Builder::new()
                .name("trtllm-await".into())
                .spawn(move || await_loop(&executor, timeout_ms, &stop, &sender, &iterations))
                .ok()
        };
        Self {
            executor,
            receiver,
            stop,
            awaiter,
            iterations,
            ids: HashMap::new(),
            answers: None,
            end,
            info,
            shut_down: false,
        }
    }

    fn handle(&self) -> Result<&ffi::TrtllmExecutor, EngineError> {
        match self.executor.get() {
            Some(handle) if !self.shut_down => Ok(handle),
            _ => Err(EngineError::Fatal("the executor has been shut down".into())),
        }
    }

    /// Turns one delivery into events; none for cancelled or unknown requests.
    fn translate(&mut self, delivery: Delivery, events: &mut Vec<Event>) {
        let Some(&id) = self.ids.get(&delivery.request_id) else {
            return;
        };
        if delivery.is_final {
            self.ids.remove(&delivery.request_id);
        }
        if !delivery.error.is_empty() || delivery.cancelled {
            // Its answer is carried nowhere.
            if let Some(answers) = &mut self.answers {
                answers.remove(&id);
            }
        }
        if !delivery.error.is_empty() {
            events.push(Event::Failed {
                id,
                reason: delivery.error,
            });
            return;
        }
        if delivery.cancelled {
            return; // the driver closed it when it asked for the cancel
        }
        if let Some(answers) = &mut self.answers {
            let answer = answers.entry(id).or_default();
            answer.extend_from_slice(&delivery.token_ids);
            if delivery.is_final {
                let token_ids = answers.remove(&id).unwrap_or_default();
                events.push(Event::Answer { id, token_ids });
            }
        }
        if delivery.is_final {
            // Before the final tokens: the driver writes the record out on its last delivery.
            let mut stats = self.request_stats(&delivery);
            stats["finish_reason"] = json!(delivery.finish_reason);
            events.push(Event::EngineStats { id, stats });
        }
        if delivery.new_tokens > 0 || delivery.is_final {
            events.push(Event::Tokens {
                id,
                tokens: delivery.new_tokens,
                finished: delivery.is_final,
            });
        }
    }

    /// The executor's own timing of one request (`returnPerfMetrics`) and the
    /// latest iteration statistics, kept beside the driver's timestamps.
    fn request_stats(&self, delivery: &Delivery) -> serde_json::Value {
        let mut stats = serde_json::Map::new();
        if delivery.has_perf {
            let ms = |from: i64, to: i64| (to - from) as f64 / 1e6;
            let d = delivery;
            stats.insert(
                "engine_timing".into(),
                json!({
                    "clock": "steady_clock ns",
                    "arrival_ns": d.arrival_ns,
                    "first_scheduled_ns": d.first_scheduled_ns,
                    "first_token_ns": d.first_token_ns,
                    "last_token_ns": d.last_token_ns,
                    "queue_ms": ms(d.arrival_ns, d.first_scheduled_ns),
                    "ttft_ms": ms(d.arrival_ns, d.first_token_ns),
                    "e2el_ms": ms(d.arrival_ns, d.last_token_ns),
                    "first_iter": (d.first_iter >= 0).then_some(d.first_iter),
                    "last_iter": (d.last_iter >= 0).then_some(d.last_iter),
                }),
            );
        }
        let state = self
            .iterations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(latest) = &state.latest {
            stats.insert("latest_iteration".into(), snapshot_json(latest));
        }
        serde_json::Value::Object(stats)
    }
}

/// Serves on a non-leader rank until the leader shuts down, then exits: only
/// the leader measures and reports.
fn serve_as_worker(executor: &SharedExecutor) -> ! {
    let code = match executor.get().map(|e| e.shutdown()) {
        Some(Ok(())) => 0,
        Some(Err(e)) => {
            eprintln!("error: worker rank: {e}");
            1
        }
        None => 1,
    };
    std::process::exit(code)
}

/// The awaiting thread: forwards responses until told to stop or the executor fails.
fn await_loop(
    executor: &SharedExecutor,
    timeout_ms: u32,
    stop: &AtomicBool,
    sender: &Sender<Message>,
    iterations: &Mutex<IterationState>,
) {
    let Some(executor) = executor.get() else {
        return;
    };
    while !stop.load(Ordering::Acquire) {
        let message = match executor.await_responses(timeout_ms) {
            Ok(deliveries) if deliveries.is_empty() => None,
            Ok(deliveries) => Some(Message::Deliveries(deliveries)),
            Err(e) => Some(Message::Fatal(e.what().to_string())),
        };
        if let Ok(snapshots) = executor.take_iteration_stats() {
            if let Some(last) = snapshots.last() {
                let mut state = iterations.lock().unwrap_or_else(PoisonError::into_inner);
                state.iterations_seen += snapshots.len() as u64;
                state.latest = Some(last.clone());
            }
        }
        let fatal = matches!(message, Some(Message::Fatal(_)));
        if let Some(message) = message {
            if sender.send(message).is_err() {
                return; // the engine is gone
            }
        }
        if fatal {
            return;
        }
    }
}

impl Engine for TrtllmEngine {
    fn describe(&self) -> EngineInfo {
        let mut info = self.info.clone();
        let state = self
            .iterations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(latest) = &state.latest {
            info.settings
                .insert("iterations_seen".into(), state.iterations_seen.to_string());
            for (key, value) in snapshot_settings(latest) {
                info.settings
                    .insert(format!("latest_iteration.{key}"), value);
            }
        }
        info
    }

    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        let token = |id: u32| id.min(i32::MAX as u32) as i32;
        let end = match (&self.end, request.ignore_eos) {
            (_, true) => None,
            (Some(end), false) => Some(end),
            (None, false) => {
                return Err(EngineError::Rejected(
                    "this engine was opened with --ignore-eos and knows no end token".into(),
                ))
            }
        };
        let spec = RequestSpec {
            max_tokens: request.max_output_tokens,
            end_id: end.map_or(-1, |e| token(e.end_id)),
            pad_id: self.end.as_ref().map_or(-1, |e| token(e.pad_id)),
            stop_token_ids: end.map_or_else(Vec::new, |e| {
                e.stop_ids.iter().map(|&id| token(id)).collect()
            }),
            temperature: request.sampling.temperature,
            top_p: request.sampling.top_p,
            top_k: request.sampling.top_k.map_or(0, token),
            has_seed: request.sampling.seed.is_some(),
            seed: request.sampling.seed.unwrap_or(0),
        };
        let executor_id = self
            .handle()?
            .enqueue(&request.prompt_token_ids, &spec)
            .map_err(|e| EngineError::Rejected(e.what().to_string()))?;
        self.ids.insert(executor_id, request.id);
        Ok(())
    }

    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let first = match self.receiver.recv_timeout(timeout) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => return Ok(()),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(EngineError::Fatal("the executor stopped answering".into()))
            }
        };
        let messages: Vec<Message> = std::iter::once(first)
            .chain(self.receiver.try_iter())
            .collect();
        let mut fatal = None;
        for message in messages {
            match message {
                Message::Deliveries(deliveries) => {
                    for delivery in deliveries {
                        self.translate(delivery, events);
                    }
                }
                Message::Fatal(reason) => fatal = Some(reason),
            }
        }
        match fatal {
            Some(reason) => Err(EngineError::Fatal(format!("awaiting responses: {reason}"))),
            None => Ok(()),
        }
    }

    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        let Some(executor_id) = self
            .ids
            .iter()
            .find_map(|(executor_id, ours)| (*ours == id).then_some(*executor_id))
        else {
            return Ok(()); // already finished
        };
        self.handle()?
            .cancel(executor_id)
            .map_err(|e| EngineError::Fatal(format!("cancelling a request: {e}")))
    }

    /// The executor streams each response's new token ids (beam 0, the
    /// input excluded): they are gathered per request and handed over when
    /// it finishes.
    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        self.answers.get_or_insert_with(HashMap::new);
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        if self.shut_down {
            return Ok(());
        }
        self.stop.store(true, Ordering::Release);
        if let Some(awaiter) = self.awaiter.take() {
            let _ = awaiter.join(); // returns within one await timeout
        }
        self.shut_down = true;
        self.ids.clear();
        match self.executor.get() {
            Some(executor) => executor
                .shutdown()
                .map_err(|e| EngineError::Fatal(format!("shutting the executor down: {e}"))),
            None => Ok(()),
        }
    }
}

impl Drop for TrtllmEngine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The end tokens for a run that does not ignore end-of-sequence, from the
/// tokenizer's folder (`--tokenizer`) or the engine directory; the executor
/// has no tokenizer to find them itself.
fn end_tokens(
    config: &TrtllmConfig,
    options: &EngineOptions,
    engine_dir: &std::path::Path,
) -> Result<Option<EndTokens>, EngineConfigError> {
    let tokenizer_dir = options.tokenizer.as_deref().map(|t| {
        if t.is_dir() {
            t
        } else {
            t.parent().unwrap_or(t)
        }
    });
    let dirs: Vec<&std::path::Path> = tokenizer_dir.into_iter().chain([engine_dir]).collect();
    let found = EndTokens::resolve(config, &dirs)?;
    if found.is_none() && !options.ignore_eos {
        return Err(EngineConfigError(
            "the trtllm engine needs the model's end token (the executor has no tokenizer, and \
             without one no token ends a request): pass --tokenizer HF_MODEL_DIR (with \
             generation_config.json), --engine-arg end_id=N, or --ignore-eos"
                .into(),
        ));
    }
    Ok(found)
}

/// The engine's description: library version, engine layout and settings.
fn describe(
    config: &TrtllmConfig,
    layout: &EngineLayout,
    options: &EngineOptions,
    end: Option<&EndTokens>,
    version: String,
) -> EngineInfo {
    let double = version == TEST_DOUBLE_VERSION;
    let mut settings: BTreeMap<String, String> = config.describe();
    settings.insert(
        "library".into(),
        if double {
            "test double of the executor API (tests/trtllm_double); no model runs".into()
        } else {
            format!("TensorRT-LLM {version} C++ executor")
        },
    );
    settings.insert("pipeline_parallel_size".into(), layout.pp.to_string());
    let end_id = match end {
        Some(end) if !options.ignore_eos => {
            let mut ids = vec![end.end_id.to_string()];
            ids.extend(end.stop_ids.iter().map(|id| format!("{id} (stop word)")));
            format!("{} (from {})", ids.join(", "), end.source)
        }
        _ => "-1 (--ignore-eos: no token ends a request)".into(),
    };
    settings.insert("end_id".into(), end_id);
    if let Some(end) = end {
        settings.insert("pad_id".into(), end.pad_id.to_string());
    }
    EngineInfo {
        name: NAME.into(),
        version,
        simulated: double,
        model: options.model.as_ref().map(|m| m.display().to_string()),
        tensor_parallel_size: layout.tp,
        max_model_len: layout.max_seq_len,
        vocab_size: layout.vocab_size,
        settings,
    }
}

fn snapshot_settings(s: &IterationSnapshot) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("iter", s.iter.to_string()),
        ("iter_latency_ms", s.iter_latency_ms.to_string()),
        ("active_requests", s.num_active_requests.to_string()),
        ("queued_requests", s.num_queued_requests.to_string()),
    ];
    if s.has_batching {
        out.push(("context_requests", s.num_context_requests.to_string()));
        out.push(("generation_requests", s.num_generation_requests.to_string()));
        out.push(("paused_requests", s.num_paused_requests.to_string()));
    }
    if s.has_kv_cache {
        out.push(("kv_used_blocks", s.kv_used_blocks.to_string()));
        out.push(("kv_max_blocks", s.kv_max_blocks.to_string()));
    }
    out
}

fn snapshot_json(s: &IterationSnapshot) -> serde_json::Value {
    json!({
        "iter": s.iter,
        "timestamp": s.timestamp,
        "iter_latency_ms": s.iter_latency_ms,
        "new_active_requests": s.num_new_active_requests,
        "active_requests": s.num_active_requests,
        "queued_requests": s.num_queued_requests,
        "completed_requests": s.num_completed_requests,
        "max_active_requests": s.max_num_active_requests,
        "gpu_mem_usage_bytes": s.gpu_mem_usage,
        "inflight_batching": s.has_batching.then(|| json!({
            "scheduled_requests": s.num_scheduled_requests,
            "context_requests": s.num_context_requests,
            "generation_requests": s.num_generation_requests,
            "paused_requests": s.num_paused_requests,
            "context_tokens": s.num_context_tokens,
        })),
        "kv_cache": s.has_kv_cache.then(|| json!({
            "max_blocks": s.kv_max_blocks,
            "free_blocks": s.kv_free_blocks,
            "used_blocks": s.kv_used_blocks,
            "tokens_per_block": s.kv_tokens_per_block,
        })),
    })
}
