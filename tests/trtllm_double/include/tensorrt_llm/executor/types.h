// Test double of TensorRT-LLM's `executor/types.h`, written from its
// declarations (1.2 line: commit a98a906; inline-namespace layout: the later
// headers). Not upstream code. Like the real header it needs CUDA's
// `cuda_fp16.h` (and `cuda_bf16.h` / `cuda_fp8.h` under ENABLE_BF16 /
// ENABLE_FP8), which the build finds in the nvidia-cuda-* wheels.
#pragma once

#include "tensorrt_llm/common/config.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <cuda_fp16.h>
#ifdef ENABLE_FP8
#include <cuda_fp8.h>
#endif
#ifdef ENABLE_BF16
#include <cuda_bf16.h>
#endif

TRTLLM_DOUBLE_BEGIN(runtime)
class CudaStream;
TRTLLM_DOUBLE_END(runtime)

TRTLLM_DOUBLE_BEGIN(executor)

class Request;
class Tensor;

using TensorPtr = std::shared_ptr<Tensor>;
using SizeType32 = std::int32_t;
using SizeType64 = std::int64_t;
using FloatType = float;
using TokenIdType = std::int32_t;
using VecTokens = std::vector<TokenIdType>;
using BeamTokens = std::vector<VecTokens>;
using IdType = std::uint64_t;
using VecTokenExtraIds = std::vector<IdType>;
using IterationType = std::uint64_t;
using RandomSeedType = std::uint64_t;
using VecLogProbs = std::vector<FloatType>;
using StreamPtr = std::shared_ptr<tensorrt_llm::runtime::CudaStream>;
using MillisecondsType = std::chrono::milliseconds;
using CacheSaltIDType = std::uint64_t;
using LogitsPostProcessor
    = std::function<void(IdType, Tensor&, BeamTokens const&, StreamPtr const&, std::optional<IdType>)>;
using LogitsPostProcessorMap = std::unordered_map<std::string, LogitsPostProcessor>;
using LogitsPostProcessorBatched = std::function<void(std::vector<IdType> const&, std::vector<Tensor>&,
    std::vector<std::reference_wrapper<BeamTokens const>> const&, StreamPtr const&,
    std::vector<std::optional<IdType>> const&)>;
using MedusaChoices = std::vector<std::vector<SizeType32>>;
using EagleChoices = std::vector<std::vector<SizeType32>>;
using PriorityType = float;
using BufferView = std::basic_string_view<uint8_t>;

enum class DataType
{
    kBOOL,
    kUINT8,
    kINT8,
    kINT32,
    kINT64,
    kBF16,
    kFP8,
    kFP16,
    kFP32,
    kUNKNOWN
};

enum class RequestType
{
    REQUEST_TYPE_CONTEXT_AND_GENERATION = 0,
    REQUEST_TYPE_CONTEXT_ONLY = 1,
    REQUEST_TYPE_GENERATION_ONLY = 2
};

template <typename T, bool = false>
struct TypeTraits
{
};

template <>
struct TypeTraits<float>
{
    static constexpr auto value = DataType::kFP32;
};

template <>
struct TypeTraits<half>
{
    static constexpr auto value = DataType::kFP16;
};

template <>
struct TypeTraits<std::int8_t>
{
    static constexpr auto value = DataType::kINT8;
};

template <>
struct TypeTraits<std::int32_t>
{
    static constexpr auto value = DataType::kINT32;
};

template <>
struct TypeTraits<std::int64_t>
{
    static constexpr auto value = DataType::kINT64;
};

template <>
struct TypeTraits<bool>
{
    static constexpr auto value = DataType::kBOOL;
};

template <>
struct TypeTraits<std::uint8_t>
{
    static constexpr auto value = DataType::kUINT8;
};

#ifdef ENABLE_BF16
template <>
struct TypeTraits<__nv_bfloat16>
{
    static constexpr auto value = DataType::kBF16;
};
#endif

#ifdef ENABLE_FP8
template <>
struct TypeTraits<__nv_fp8_e4m3>
{
    static constexpr auto value = DataType::kFP8;
};
#endif

template <typename T>
struct TypeTraits<T*>
{
    static constexpr auto value = DataType::kINT64;
};

enum class MemoryType
{
    kCPU,
    kCPU_PINNED,
    kCPU_PINNEDPOOL,
    kGPU,
    kUVM,
    kUNKNOWN
};

enum class ModelType
{
    kDECODER_ONLY = 0,
    kENCODER_ONLY = 1,
    kENCODER_DECODER = 2,
};

enum class BatchingType
{
    kSTATIC = 0,
    kINFLIGHT = 1,
};

enum class CapacitySchedulerPolicy
{
    kMAX_UTILIZATION = 0,
    kGUARANTEED_NO_EVICT = 1,
    kSTATIC_BATCH = 2
};

std::ostream& operator<<(std::ostream& os, CapacitySchedulerPolicy policy);

enum class ContextChunkingPolicy
{
    kFIRST_COME_FIRST_SERVED = 0,
    kEQUAL_PROGRESS = 1,
};

std::ostream& operator<<(std::ostream& os, ContextChunkingPolicy policy);

enum class CommunicationType
{
    kMPI = 0
};

enum class CommunicationMode
{
    kLEADER,
    kORCHESTRATOR,
};

struct KvCacheStats
{
    SizeType32 maxNumBlocks;
    SizeType32 freeNumBlocks;
    SizeType32 usedNumBlocks;
    SizeType32 tokensPerBlock;
    SizeType32 allocTotalBlocks;
    SizeType32 allocNewBlocks;
    SizeType32 reusedBlocks;
    SizeType32 missedBlocks;
    float cacheHitRate;
};

struct StaticBatchingStats
{
    SizeType32 numScheduledRequests;
    SizeType32 numContextRequests;
    SizeType32 numCtxTokens;
    SizeType32 numGenTokens;
    SizeType32 emptyGenSlots;
};

struct InflightBatchingStats
{
    SizeType32 numScheduledRequests;
    SizeType32 numContextRequests;
    SizeType32 numGenRequests;
    SizeType32 numPausedRequests;
    SizeType32 numCtxTokens;
    SizeType32 microBatchId;
    float avgNumDecodedTokensPerIter;
};

struct SpecDecodingStats
{
    SizeType64 numDraftTokens;
    SizeType64 numAcceptedTokens;
    SizeType64 numRequestsWithDraftTokens;
    double acceptanceLength;
    double iterLatencyMS;
    double draftOverhead;
};

struct IterationStats
{
    std::string timestamp;
    IterationType iter;
    double iterLatencyMS;
    double newActiveRequestsQueueLatencyMS;
    SizeType32 numNewActiveRequests;
    SizeType32 numActiveRequests;
    SizeType32 numQueuedRequests;
    SizeType32 numCompletedRequests;
    SizeType32 maxNumActiveRequests;
    SizeType32 maxBatchSizeStatic;
    SizeType32 maxBatchSizeTunerRecommended;
    SizeType32 maxBatchSizeRuntime;
    SizeType32 maxNumTokensStatic;
    SizeType32 maxNumTokensTunerRecommended;
    SizeType32 maxNumTokensRuntime;
    size_t gpuMemUsage;
    size_t cpuMemUsage;
    size_t pinnedMemUsage;
    std::optional<KvCacheStats> kvCacheStats;
    std::optional<KvCacheStats> crossKvCacheStats;
    std::optional<StaticBatchingStats> staticBatchingStats;
    std::optional<InflightBatchingStats> inflightBatchingStats;
    std::optional<SpecDecodingStats> specDecodingStats;
};

enum class RequestStage
{
    kQUEUED,
    kENCODER_IN_PROGRESS,
    kCONTEXT_IN_PROGRESS,
    kGENERATION_IN_PROGRESS,
    kGENERATION_COMPLETE,
};

struct DisServingRequestStats
{
    double kvCacheTransferMS;
    size_t kvCacheSize;
};

struct RequestStats
{
    IdType id;
    RequestStage stage;
    SizeType32 contextPrefillPosition;
    SizeType32 numGeneratedTokens;
    float avgNumDecodedTokensPerIter;
    bool scheduled;
    bool paused;
    std::optional<DisServingRequestStats> disServingStats;
    SizeType32 allocTotalBlocksPerRequest;
    SizeType32 allocNewBlocksPerRequest;
    SizeType32 reusedBlocksPerRequest;
    SizeType32 missedBlocksPerRequest;
    FloatType kvCacheHitRatePerRequest;
};

struct RequestStatsPerIteration
{
    IterationType iter;
    std::vector<RequestStats> requestStats;
};

struct RequestPerfMetrics
{
    using TimePoint = std::chrono::time_point<std::chrono::steady_clock>;

    struct TimingMetrics
    {
        TimePoint arrivalTime;
        TimePoint firstScheduledTime;
        TimePoint firstTokenTime;
        TimePoint lastTokenTime;
        TimePoint kvCacheTransferStart;
        TimePoint kvCacheTransferEnd;
        mutable size_t kvCacheSize = 0;
    };

    struct KvCacheMetrics
    {
        SizeType32 numTotalAllocatedBlocks{0};
        SizeType32 numNewAllocatedBlocks{0};
        SizeType32 numReusedBlocks{0};
        SizeType32 numMissedBlocks{0};
        FloatType kvCacheHitRate{0.f};
    };

    struct SpeculativeDecodingMetrics
    {
        FloatType acceptanceRate{0.f};
        SizeType32 totalAcceptedDraftTokens{0};
        SizeType32 totalDraftTokens{0};
    };

    TimingMetrics timingMetrics;
    KvCacheMetrics kvCacheMetrics;
    SpeculativeDecodingMetrics speculativeDecoding;

    std::optional<IterationType> firstIter;
    std::optional<IterationType> lastIter;
    std::optional<IterationType> iter;
};

struct DebugTensorsPerIteration
{
    IterationType iter;
    std::map<std::string, Tensor> debugTensors;
};

enum class FinishReason
{
    kNOT_FINISHED = 0,
    kEND_ID = 1,
    kSTOP_WORDS = 2,
    kLENGTH = 3,
    kTIMED_OUT = 4,
    kCANCELLED = 5
};

enum class KvCacheTransferMode
{
    DRAM = 0,
    GDS = 1,
    POSIX_DEBUG_FALLBACK = 2,
};

/// The decoder's mode: the double keeps the state word and the named
/// constructors the executor's configuration types use.
class DecodingMode
{
public:
    using UnderlyingType = uint32_t;

    static auto constexpr Auto()
    {
        return DecodingMode{kAuto};
    }

    static auto constexpr TopKTopP()
    {
        return DecodingMode{kTopKTopP};
    }

    static auto constexpr BeamSearch()
    {
        return DecodingMode{kBeamSearch};
    }

    [[nodiscard]] bool constexpr isAuto() const
    {
        return (mState & kAuto) != 0;
    }

    [[nodiscard]] bool constexpr isTopKorTopP() const
    {
        return (mState & kTopKTopP) != 0;
    }

    [[nodiscard]] bool constexpr isBeamSearch() const
    {
        return (mState & kBeamSearch) != 0;
    }

    bool operator==(DecodingMode const& other) const
    {
        return mState == other.mState;
    }

    explicit constexpr DecodingMode(UnderlyingType state)
        : mState(state)
    {
    }

    [[nodiscard]] constexpr UnderlyingType getState() const
    {
        return mState;
    }

private:
    static SizeType32 constexpr kNumFlags{12};
    static UnderlyingType constexpr kAuto{1u << (kNumFlags + 0)};
    static UnderlyingType constexpr kTopK{1u << (kNumFlags + 1)};
    static UnderlyingType constexpr kTopP{1u << (kNumFlags + 2)};
    static UnderlyingType constexpr kBeamSearch{1u << (kNumFlags + 3)};
    static UnderlyingType constexpr kTopKTopP{kTopK | kTopP};

    UnderlyingType mState{};
};

TRTLLM_DOUBLE_END(executor)
