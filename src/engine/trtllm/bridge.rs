//! The `#[cxx::bridge]` between the engine and `cpp/trtllm_bridge.{h,cc}`.
//!
//! Every call that can throw in C++ is declared `Result`, so an exception
//! becomes an `Err` carrying its `what()`. Plain data crosses as shared structs.

#[cxx::bridge(namespace = "enginebench::trtllm")]
pub mod ffi {
    /// How to build the executor. Zero means "the engine's or the library's default".
    #[derive(Clone, Debug)]
    struct ExecutorSettings {
        engine_dir: String,
        max_batch_size: i32,
        max_num_tokens: i32,
        kv_cache_free_gpu_memory_fraction: f32,
        kv_cache_max_tokens: i32,
        enable_block_reuse: bool,
        /// 0 max utilization, 1 guaranteed no evict, 2 static batch.
        capacity_scheduler_policy: u8,
        enable_chunked_context: bool,
        iter_stats_max_iterations: i32,
        /// Non-empty: orchestrator mode, spawning this `executorWorker`.
        worker_path: String,
    }

    /// One request's settings besides its prompt.
    #[derive(Clone, Debug)]
    struct RequestSpec {
        max_tokens: u32,
        /// The token that ends the request; -1: none does (ignore end-of-sequence).
        end_id: i32,
        /// -1 leaves the executor's default.
        pad_id: i32,
        /// Further single-token stop words (a model with several end tokens).
        stop_token_ids: Vec<i32>,
        /// 0: greedy. Above 0, `top_p` is always passed (the executor's
        /// default top-p of 0 would make it greedy).
        temperature: f32,
        top_p: f32,
        /// 0 leaves top-k off.
        top_k: i32,
        has_seed: bool,
        seed: u64,
    }

    /// One response of the executor, as plain data. Times are the library's
    /// steady-clock readings in nanoseconds since that clock's epoch.
    #[derive(Clone, Debug, Default)]
    struct Delivery {
        request_id: u64,
        new_tokens: u32,
        /// The ids of those tokens (beam 0; streaming sends only new ones).
        token_ids: Vec<u32>,
        is_final: bool,
        cancelled: bool,
        /// On the final delivery: end_id, stop_words, length, timed_out or cancelled.
        finish_reason: String,
        /// Non-empty when the response is an error.
        error: String,
        has_perf: bool,
        arrival_ns: i64,
        first_scheduled_ns: i64,
        first_token_ns: i64,
        last_token_ns: i64,
        /// -1 when unknown.
        first_iter: i64,
        last_iter: i64,
    }

    /// The parts of one iteration's statistics that benchmarks read.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct IterationSnapshot {
        iter: u64,
        timestamp: String,
        iter_latency_ms: f64,
        num_new_active_requests: i32,
        num_active_requests: i32,
        num_queued_requests: i32,
        num_completed_requests: i32,
        max_num_active_requests: i32,
        gpu_mem_usage: u64,
        has_batching: bool,
        num_scheduled_requests: i32,
        num_context_requests: i32,
        num_generation_requests: i32,
        num_paused_requests: i32,
        num_context_tokens: i32,
        has_kv_cache: bool,
        kv_max_blocks: i32,
        kv_free_blocks: i32,
        kv_used_blocks: i32,
        kv_tokens_per_block: i32,
    }

    unsafe extern "C++" {
        include!("enginebench/cpp/trtllm_bridge.h");

        type TrtllmExecutor;

        /// Registers the library's TensorRT plugins; call before the first executor.
        fn init_plugins() -> Result<()>;
        /// The library's version string.
        fn library_version() -> String;
        fn new_executor(settings: &ExecutorSettings) -> Result<UniquePtr<TrtllmExecutor>>;

        /// False on the non-leader ranks of leader mode: they only serve.
        fn can_enqueue(self: &TrtllmExecutor) -> bool;
        fn enqueue(self: &TrtllmExecutor, prompt: &[u32], spec: &RequestSpec) -> Result<u64>;
        /// Waits at most `timeout_ms` for responses.
        fn await_responses(self: &TrtllmExecutor, timeout_ms: u32) -> Result<Vec<Delivery>>;
        fn cancel(self: &TrtllmExecutor, request_id: u64) -> Result<()>;
        /// Iteration statistics gathered since the last call.
        fn take_iteration_stats(self: &TrtllmExecutor) -> Result<Vec<IterationSnapshot>>;
        /// Stops the executor; later calls do nothing. On a non-leader rank it
        /// returns once the leader has shut down.
        fn shutdown(self: &TrtllmExecutor) -> Result<()>;
    }
}

/// The executor, shareable between the driver's thread and the thread that
/// awaits responses.
pub struct SharedExecutor(pub cxx::UniquePtr<ffi::TrtllmExecutor>);

// SAFETY: the C++ class only forwards to the library's Executor, whose
// enqueueRequest, awaitResponses, cancelRequest and getLatestIterationStats
// are meant to be called from different threads at once (one thread awaiting
// responses while another enqueues is the documented way to use it); its own
// state is a unique_ptr set at construction and a std::once_flag for shutdown.
// The test double guards all its state with one mutex.
unsafe impl Send for SharedExecutor {}
// SAFETY: as above; every method the bridge exposes takes `&self`.
unsafe impl Sync for SharedExecutor {}

impl SharedExecutor {
    pub fn get(&self) -> Option<&ffi::TrtllmExecutor> {
        self.0.as_ref()
    }
}
