// C++ side of the `trtllm` engine: builds the executor from the settings the
// Rust side checked, and converts requests, responses and iteration statistics
// to and from the plain structs declared in src/engine/trtllm/bridge.rs.
// Exceptions are left to propagate: cxx turns them into Rust errors.
//
// The real headers come first and nothing of TensorRT-LLM is declared here, so
// `tensorrt_llm::executor` resolves through the headers' own namespace layout:
// plain in 1.2, `tensorrt_llm::_v1::executor` (inline) in later releases.

#include "tensorrt_llm/executor/executor.h"
#include "tensorrt_llm/plugins/api/tllmPlugin.h"

#include "enginebench/cpp/trtllm_bridge.h"
#include "enginebench/src/engine/trtllm/bridge.rs.h"

#include <chrono>
#include <list>
#include <stdexcept>
#include <string>
#include <utility>

namespace tle = tensorrt_llm::executor;

namespace enginebench::trtllm
{
namespace
{

std::int64_t nanos(tle::RequestPerfMetrics::TimePoint t)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

tle::CapacitySchedulerPolicy capacityPolicy(std::uint8_t code)
{
    switch (code)
    {
    case 0: return tle::CapacitySchedulerPolicy::kMAX_UTILIZATION;
    case 1: return tle::CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT;
    case 2: return tle::CapacitySchedulerPolicy::kSTATIC_BATCH;
    default: throw std::invalid_argument("unknown capacity scheduler policy " + std::to_string(code));
    }
}

tle::ExecutorConfig executorConfig(ExecutorSettings const& s)
{
    tle::ExecutorConfig config(1);
    if (s.max_batch_size > 0)
    {
        config.setMaxBatchSize(s.max_batch_size);
    }
    if (s.max_num_tokens > 0)
    {
        config.setMaxNumTokens(s.max_num_tokens);
    }
    tle::KvCacheConfig kvCache(s.enable_block_reuse);
    if (s.kv_cache_free_gpu_memory_fraction > 0.F)
    {
        kvCache.setFreeGpuMemoryFraction(s.kv_cache_free_gpu_memory_fraction);
    }
    if (s.kv_cache_max_tokens > 0)
    {
        kvCache.setMaxTokens(s.kv_cache_max_tokens);
    }
    config.setKvCacheConfig(kvCache);
    config.setSchedulerConfig(tle::SchedulerConfig(capacityPolicy(s.capacity_scheduler_policy)));
    config.setEnableChunkedContext(s.enable_chunked_context);
    config.setIterStatsMaxIterations(s.iter_stats_max_iterations);
    if (!s.worker_path.empty())
    {
        tle::OrchestratorConfig orchestrator(true, std::string(s.worker_path));
        config.setParallelConfig(tle::ParallelConfig(tle::CommunicationType::kMPI,
            tle::CommunicationMode::kORCHESTRATOR, std::nullopt, std::nullopt, orchestrator));
    }
    return config;
}

// The executor's decoder defaults are topK 0 and topP 0, which it runs as
// greedy (topK 1): sampling needs topP set explicitly, even at 1.
tle::SamplingConfig samplingConfig(RequestSpec const& spec)
{
    tle::SamplingConfig config(1);
    if (spec.temperature > 0.F)
    {
        config.setTemperature(spec.temperature);
        config.setTopP(spec.top_p);
        if (spec.top_k > 0)
        {
            config.setTopK(spec.top_k);
        }
        if (spec.has_seed)
        {
            config.setSeed(spec.seed);
        }
    }
    else
    {
        config.setTopK(1); // greedy
    }
    return config;
}

char const* finishReason(tle::FinishReason reason)
{
    switch (reason)
    {
    case tle::FinishReason::kNOT_FINISHED: return "";
    case tle::FinishReason::kEND_ID: return "end_id";
    case tle::FinishReason::kSTOP_WORDS: return "stop_words";
    case tle::FinishReason::kLENGTH: return "length";
    case tle::FinishReason::kTIMED_OUT: return "timed_out";
    case tle::FinishReason::kCANCELLED: return "cancelled";
    }
    return "unknown";
}

Delivery toDelivery(tle::Response const& response)
{
    Delivery out{};
    out.request_id = response.getRequestId();
    out.first_iter = -1;
    out.last_iter = -1;
    if (response.hasError())
    {
        out.error = rust::String(response.getErrorMsg());
        out.is_final = true;
        return out;
    }
    auto const& result = response.getResult();
    out.is_final = result.isFinal;
    if (!result.outputTokenIds.empty())
    {
        auto const& beam = result.outputTokenIds.front();
        out.new_tokens = static_cast<std::uint32_t>(beam.size());
        out.token_ids.reserve(beam.size());
        for (auto id : beam)
        {
            out.token_ids.push_back(static_cast<std::uint32_t>(id));
        }
    }
    for (auto reason : result.finishReasons)
    {
        out.cancelled = out.cancelled || reason == tle::FinishReason::kCANCELLED;
        if (reason != tle::FinishReason::kNOT_FINISHED)
        {
            out.finish_reason = rust::String(finishReason(reason));
        }
    }
    if (result.requestPerfMetrics)
    {
        auto const& perf = *result.requestPerfMetrics;
        out.has_perf = true;
        out.arrival_ns = nanos(perf.timingMetrics.arrivalTime);
        out.first_scheduled_ns = nanos(perf.timingMetrics.firstScheduledTime);
        out.first_token_ns = nanos(perf.timingMetrics.firstTokenTime);
        out.last_token_ns = nanos(perf.timingMetrics.lastTokenTime);
        out.first_iter = perf.firstIter ? static_cast<std::int64_t>(*perf.firstIter) : -1;
        out.last_iter = perf.lastIter ? static_cast<std::int64_t>(*perf.lastIter) : -1;
    }
    return out;
}

IterationSnapshot toSnapshot(tle::IterationStats const& stats)
{
    IterationSnapshot out{};
    out.iter = stats.iter;
    out.timestamp = rust::String(stats.timestamp);
    out.iter_latency_ms = stats.iterLatencyMS;
    out.num_new_active_requests = stats.numNewActiveRequests;
    out.num_active_requests = stats.numActiveRequests;
    out.num_queued_requests = stats.numQueuedRequests;
    out.num_completed_requests = stats.numCompletedRequests;
    out.max_num_active_requests = stats.maxNumActiveRequests;
    out.gpu_mem_usage = stats.gpuMemUsage;
    if (auto const& batch = stats.inflightBatchingStats)
    {
        out.has_batching = true;
        out.num_scheduled_requests = batch->numScheduledRequests;
        out.num_context_requests = batch->numContextRequests;
        out.num_generation_requests = batch->numGenRequests;
        out.num_paused_requests = batch->numPausedRequests;
        out.num_context_tokens = batch->numCtxTokens;
    }
    if (auto const& kv = stats.kvCacheStats)
    {
        out.has_kv_cache = true;
        out.kv_max_blocks = kv->maxNumBlocks;
        out.kv_free_blocks = kv->freeNumBlocks;
        out.kv_used_blocks = kv->usedNumBlocks;
        out.kv_tokens_per_block = kv->tokensPerBlock;
    }
    return out;
}

} // namespace

struct TrtllmExecutor::Impl
{
    tle::Executor executor;
};

TrtllmExecutor::TrtllmExecutor(std::unique_ptr<Impl> impl)
    : mImpl(std::move(impl))
{
}

TrtllmExecutor::~TrtllmExecutor()
{
    try
    {
        shutdown();
    }
    catch (...)
    {
        // A destructor must not throw; Rust has already asked for shutdown and seen its error.
    }
}

bool TrtllmExecutor::can_enqueue() const
{
    return mImpl->executor.canEnqueueRequests();
}

std::uint64_t TrtllmExecutor::enqueue(rust::Slice<std::uint32_t const> prompt, RequestSpec const& spec) const
{
    tle::VecTokens tokens(prompt.begin(), prompt.end());
    tle::OutputConfig output;
    output.excludeInputFromOutput = true;
    output.returnPerfMetrics = true;
    // Unset, the executor (which has no tokenizer) treats endId as -1 and no
    // token ends a request; the Rust side always says which one does, -1 when
    // the run ignores end-of-sequence.
    tle::Request request(std::move(tokens), static_cast<tle::SizeType32>(spec.max_tokens), /*streaming=*/true,
        samplingConfig(spec), output, spec.end_id);
    if (spec.pad_id >= 0)
    {
        request.setPadId(spec.pad_id);
    }
    if (!spec.stop_token_ids.empty())
    {
        std::list<tle::VecTokens> words;
        for (auto id : spec.stop_token_ids)
        {
            words.push_back(tle::VecTokens{id});
        }
        request.setStopWords(words);
    }
    return mImpl->executor.enqueueRequest(request);
}

rust::Vec<Delivery> TrtllmExecutor::await_responses(std::uint32_t timeout_ms) const
{
    auto responses = mImpl->executor.awaitResponses(std::chrono::milliseconds(timeout_ms));
    rust::Vec<Delivery> out;
    out.reserve(responses.size());
    for (auto const& response : responses)
    {
        out.push_back(toDelivery(response));
    }
    return out;
}

void TrtllmExecutor::cancel(std::uint64_t request_id) const
{
    mImpl->executor.cancelRequest(request_id);
}

rust::Vec<IterationSnapshot> TrtllmExecutor::take_iteration_stats() const
{
    rust::Vec<IterationSnapshot> out;
    for (auto const& stats : mImpl->executor.getLatestIterationStats())
    {
        out.push_back(toSnapshot(stats));
    }
    return out;
}

void TrtllmExecutor::shutdown() const
{
    std::call_once(mShutdown, [this] { mImpl->executor.shutdown(); });
}

void init_plugins()
{
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] { ok = initTrtLlmPlugins(); });
    if (!ok)
    {
        throw std::runtime_error("plugin registration (initTrtLlmPlugins) failed");
    }
}

rust::String library_version()
{
    return rust::String(tle::version());
}

std::unique_ptr<TrtllmExecutor> new_executor(ExecutorSettings const& settings)
{
    auto config = executorConfig(settings);
    auto impl = std::unique_ptr<TrtllmExecutor::Impl>(new TrtllmExecutor::Impl{
        tle::Executor(std::string(settings.engine_dir), tle::ModelType::kDECODER_ONLY, config)});
    return std::make_unique<TrtllmExecutor>(std::move(impl));
}

} // namespace enginebench::trtllm
