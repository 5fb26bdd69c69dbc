// Test double of TensorRT-LLM's executor library (libtensorrt_llm.so): the
// declarations in include/tensorrt_llm/executor/, defined here for the tests.
// It is not TensorRT-LLM and contains none of its code; it runs no model.
//
// What it models, from the real library's documented behaviour:
// - in-flight batching on a background thread: every `step_us` it admits queued
//   requests while the batch has room and gives each active request one token;
// - `endId`: unset means -1, so no token ends a request (the batch manager
//   reads `endId.value_or(-1)`); set, the request ends the step the model emits
//   that token, which is not returned (FinishReason::kEND_ID);
// - `maxTokens`, streaming deltas (one new token per response) or one final
//   response, `excludeInputFromOutput` (non-streaming: the prompt comes first);
// - sampling: SamplingConfig's setters reject what the real checks reject
//   (topP outside (0, 1], topK < 0, temperature < 0, beamWidth < 1), and the
//   decoder's defaults apply: topK 0 and topP 0 (both unset) mean greedy, the
//   seed defaults to 0;
// - errors the real API reports: exceptions at enqueue for requests that can
//   never run, error responses for token ids outside the vocabulary,
//   cancellation ending with a final, empty kCANCELLED result.
// It links the CUDA runtime, cuBLAS and NCCL that the real library needs (it
// asks each for its version when an Executor is built), so building and
// loading it exercise the same library search as a real install.
//
// Settings, from `<engine dir>/test_double.conf`, one `key=value` per line:
//   step_us         time per iteration (default 1000)
//   vocab_size      token ids must be below it (default 32000)
//   max_input_len   longest prompt accepted at enqueue (default 4096)
//   eos_token       the token the model emits as its end of sequence (default 2)
//   eos_after       the output position at which the model emits eos_token
//                   (default: never); single-token stop words end a request too
//   request_log     append one JSON line per enqueued request to this file
//   fail_construct  if set, the constructor throws with this message
//   serves_only     1: act as a non-leader rank of leader mode (cannot enqueue)

#include "tensorrt_llm/executor/executor.h"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_set>

// The CUDA libraries' version queries (none needs a GPU), from their wheels' headers.
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

TRTLLM_DOUBLE_BEGIN(executor)

namespace
{

// TLLM_CHECK throws tensorrt_llm::common::TllmException, a std::runtime_error.
void check(bool condition, char const* what)
{
    if (!condition)
    {
        throw std::runtime_error(std::string("[TensorRT-LLM][ERROR] Assertion failed: ") + what);
    }
}

} // namespace

char const* version() noexcept
{
    return "test-double";
}

SamplingConfig::SamplingConfig(SizeType32 beamWidth, std::optional<SizeType32> const& topK,
    std::optional<FloatType> const& topP, std::optional<FloatType> const& topPMin,
    std::optional<TokenIdType> const& topPResetIds, std::optional<FloatType> const& topPDecay,
    std::optional<RandomSeedType> const& seed, std::optional<FloatType> const& temperature,
    std::optional<SizeType32> const& minTokens, std::optional<FloatType> const& beamSearchDiversityRate,
    std::optional<FloatType> const& repetitionPenalty, std::optional<FloatType> const& presencePenalty,
    std::optional<FloatType> const& frequencyPenalty,
#ifdef TRTLLM_DOUBLE_INLINE_NAMESPACE
    std::optional<SizeType32> const& promptIgnoreLength,
#endif
    std::optional<FloatType> const& lengthPenalty, std::optional<SizeType32> const& earlyStopping,
    std::optional<SizeType32> const& noRepeatNgramSize, std::optional<SizeType32> const& numReturnSequences,
    std::optional<FloatType> const& minP, std::optional<std::vector<SizeType32>> const& beamWidthArray)
    : mBeamWidth(1)
    , mTopPMin(topPMin)
    , mTopPResetIds(topPResetIds)
    , mTopPDecay(topPDecay)
    , mSeed(seed)
    , mMinTokens(minTokens)
    , mBeamSearchDiversityRate(beamSearchDiversityRate)
    , mRepetitionPenalty(repetitionPenalty)
    , mPresencePenalty(presencePenalty)
    , mFrequencyPenalty(frequencyPenalty)
    , mLengthPenalty(lengthPenalty)
    , mEarlyStopping(earlyStopping)
    , mNoRepeatNgramSize(noRepeatNgramSize)
    , mNumReturnSequences(numReturnSequences)
    , mNumReturnBeams(1)
    , mMinP(minP)
    , mBeamWidthArray(beamWidthArray)
{
#ifdef TRTLLM_DOUBLE_INLINE_NAMESPACE
    mPromptIgnoreLength = promptIgnoreLength;
#endif
    setBeamWidth(beamWidth);
    setTopK(topK);
    setTopP(topP);
    setTemperature(temperature);
}

SizeType32 SamplingConfig::getBeamWidth() const { return mBeamWidth; }
SizeType32 SamplingConfig::getNumReturnBeams() const { return mNumReturnBeams; }
std::optional<SizeType32> SamplingConfig::getTopK() const { return mTopK; }
std::optional<FloatType> SamplingConfig::getTopP() const { return mTopP; }
std::optional<RandomSeedType> SamplingConfig::getSeed() const { return mSeed; }
std::optional<FloatType> SamplingConfig::getTemperature() const { return mTemperature; }

void SamplingConfig::setBeamWidth(SizeType32 beamWidth)
{
    check(beamWidth > 0, "beamWidth > 0");
    mBeamWidth = beamWidth;
    mNumReturnBeams = beamWidth;
}

void SamplingConfig::setTopK(std::optional<SizeType32> const& topK)
{
    check(!topK || *topK >= 0, "topK.value() >= 0");
    mTopK = topK;
}

void SamplingConfig::setTopP(std::optional<FloatType> const& topP)
{
    check(!topP || *topP > 0.F, "topP.value() > 0.f");
    check(!topP || *topP <= 1.F, "topP.value() <= 1.f");
    mTopP = topP;
}

void SamplingConfig::setSeed(std::optional<RandomSeedType> const& seed) { mSeed = seed; }

void SamplingConfig::setTemperature(std::optional<FloatType> const& temperature)
{
    check(!temperature || *temperature >= 0.F, "temperature.value() >= 0.f");
    mTemperature = temperature;
}

OutputConfig::OutputConfig(bool returnLogProbs, bool returnContextLogits, bool returnGenerationLogits,
    bool excludeInputFromOutput, bool returnEncoderOutput, bool returnPerfMetrics,
    std::optional<std::vector<AdditionalModelOutput>> additionalModelOutputs)
    : returnLogProbs(returnLogProbs)
    , returnContextLogits(returnContextLogits)
    , returnGenerationLogits(returnGenerationLogits)
    , excludeInputFromOutput(excludeInputFromOutput)
    , returnEncoderOutput(returnEncoderOutput)
    , returnPerfMetrics(returnPerfMetrics)
    , additionalModelOutputs(std::move(additionalModelOutputs))
{
}

// Results carry an optional ContextPhaseParams (disaggregated serving); the
// double never fills it, but copying a Result needs these.
ContextPhaseParams::ContextPhaseParams(ContextPhaseParams const& other)
    : mReqId(other.mReqId)
    , mFirstGenTokens(other.mFirstGenTokens)
    , mDraftTokens(other.mDraftTokens)
{
}

ContextPhaseParams::ContextPhaseParams(ContextPhaseParams&&) noexcept = default;

ContextPhaseParams& ContextPhaseParams::operator=(ContextPhaseParams const& other)
{
    mReqId = other.mReqId;
    mFirstGenTokens = other.mFirstGenTokens;
    mDraftTokens = other.mDraftTokens;
    mState.reset();
    return *this;
}

ContextPhaseParams& ContextPhaseParams::operator=(ContextPhaseParams&&) noexcept = default;
ContextPhaseParams::~ContextPhaseParams() = default;

void ContextPhaseParams::deleter(void const* /*data*/) {}

class Request::Impl
{
public:
    VecTokens inputTokenIds;
    SizeType32 maxTokens;
    bool streaming;
    SamplingConfig samplingConfig;
    OutputConfig outputConfig;
    std::optional<SizeType32> endId;
    std::optional<SizeType32> padId;
    std::optional<std::list<VecTokens>> stopWords;
    std::optional<IdType> clientId;
    bool returnAllGeneratedTokens;
};

Request::Request(VecTokens inputTokenIds, SizeType32 maxTokens, bool streaming, SamplingConfig const& samplingConfig,
    OutputConfig const& outputConfig, std::optional<SizeType32> const& endId, std::optional<SizeType32> const& padId,
    std::optional<std::vector<SizeType32>> /*positionIds*/, std::optional<std::list<VecTokens>> /*badWords*/,
    std::optional<std::list<VecTokens>> stopWords, std::optional<Tensor> /*embeddingBias*/,
    std::optional<ExternalDraftTokensConfig> /*externalDraftTokensConfig*/,
    std::optional<PromptTuningConfig> /*pTuningConfig*/, std::optional<MultimodalInput> /*multimodalInput*/,
    std::optional<Tensor> /*multimodalEmbedding*/, std::optional<MropeConfig> /*mRopeConfig*/,
    std::optional<LoraConfig> /*loraConfig*/, std::optional<LookaheadDecodingConfig> /*lookaheadConfig*/,
    std::optional<KvCacheRetentionConfig> /*kvCacheRetentionConfig*/,
    std::optional<std::string> /*logitsPostProcessorName*/, std::optional<LogitsPostProcessor> /*logitsPostProcessor*/,
    std::optional<VecTokens> /*encoderInputTokenIds*/, std::optional<IdType> clientId, bool returnAllGeneratedTokens,
    PriorityType /*priority*/, RequestType /*type*/, std::optional<ContextPhaseParams> /*contextPhaseParams*/,
    std::optional<Tensor> /*encoderInputFeatures*/, std::optional<SizeType32> /*encoderOutputLength*/,
    std::optional<Tensor> /*crossAttentionMask*/, SizeType32 /*numReturnSequences*/,
    std::optional<EagleConfig> /*eagleConfig*/, std::optional<Tensor> /*skipCrossAttnBlocks*/,
    std::optional<GuidedDecodingParams> /*guidedDecodingParams*/, std::optional<SizeType32> /*languageAdapterUid*/,
    std::optional<MillisecondsType> /*allottedTimeMs*/, std::optional<CacheSaltIDType> /*cacheSaltID*/)
    : mImpl(std::make_unique<Impl>(Impl{std::move(inputTokenIds), maxTokens, streaming, samplingConfig, outputConfig,
        endId, padId, std::move(stopWords), clientId, returnAllGeneratedTokens}))
{
}

Request::Request(Request const& other)
    : mImpl(std::make_unique<Impl>(*other.mImpl))
{
}

Request::Request(Request&& other) noexcept = default;

Request& Request::operator=(Request const& other)
{
    mImpl = std::make_unique<Impl>(*other.mImpl);
    return *this;
}

Request& Request::operator=(Request&& other) noexcept = default;
Request::~Request() = default;

VecTokens Request::getInputTokenIds() const { return mImpl->inputTokenIds; }
SizeType32 Request::getMaxTokens() const { return mImpl->maxTokens; }
bool Request::getStreaming() const { return mImpl->streaming; }
SamplingConfig Request::getSamplingConfig() const { return mImpl->samplingConfig; }
OutputConfig Request::getOutputConfig() const { return mImpl->outputConfig; }
std::optional<SizeType32> Request::getEndId() const { return mImpl->endId; }
std::optional<SizeType32> Request::getPadId() const { return mImpl->padId; }
std::optional<std::list<VecTokens>> Request::getStopWords() const { return mImpl->stopWords; }
void Request::setStopWords(std::list<VecTokens> const& stopWords) { mImpl->stopWords = stopWords; }
std::optional<IdType> Request::getClientId() const { return mImpl->clientId; }
bool Request::getReturnAllGeneratedTokens() const { return mImpl->returnAllGeneratedTokens; }
void Request::setStreaming(bool streaming) { mImpl->streaming = streaming; }
void Request::setSamplingConfig(SamplingConfig const& config) { mImpl->samplingConfig = config; }
void Request::setOutputConfig(OutputConfig const& outputConfig) { mImpl->outputConfig = outputConfig; }
void Request::setEndId(SizeType32 endId) { mImpl->endId = endId; }
void Request::setPadId(SizeType32 padId) { mImpl->padId = padId; }
void Request::setClientId(IdType clientId) { mImpl->clientId = clientId; }

class Response::Impl
{
public:
    IdType requestId;
    std::optional<IdType> clientId;
    std::optional<std::string> errorMsg;
    std::optional<Result> result;
};

Response::Response(IdType requestId, std::string errorMsg, std::optional<IdType> clientId)
    : mImpl(std::make_unique<Impl>(Impl{requestId, clientId, std::move(errorMsg), std::nullopt}))
{
}

Response::Response(IdType requestId, Result result, std::optional<IdType> clientId)
    : mImpl(std::make_unique<Impl>(Impl{requestId, clientId, std::nullopt, std::move(result)}))
{
}

Response::~Response() = default;

Response::Response(Response const& other)
    : mImpl(std::make_unique<Impl>(*other.mImpl))
{
}

Response::Response(Response&& other) noexcept = default;

Response& Response::operator=(Response const& other)
{
    mImpl = std::make_unique<Impl>(*other.mImpl);
    return *this;
}

Response& Response::operator=(Response&& other) noexcept = default;

IdType Response::getRequestId() const { return mImpl->requestId; }
std::optional<IdType> Response::getClientId() const { return mImpl->clientId; }
bool Response::hasError() const { return mImpl->errorMsg.has_value(); }

std::string const& Response::getErrorMsg() const
{
    check(mImpl->errorMsg.has_value(), "Cannot get error message when response has no error");
    return *mImpl->errorMsg;
}

Result const& Response::getResult() const
{
    check(mImpl->result.has_value(), "Cannot get the result for a response with an error");
    return *mImpl->result;
}

SchedulerConfig::SchedulerConfig(CapacitySchedulerPolicy capacitySchedulerPolicy,
    std::optional<ContextChunkingPolicy> contextChunkingPolicy, std::optional<DynamicBatchConfig> dynamicBatchConfig)
    : mCapacitySchedulerPolicy(capacitySchedulerPolicy)
    , mContextChunkingPolicy(contextChunkingPolicy)
    , mDynamicBatchConfig(std::move(dynamicBatchConfig))
{
}

CapacitySchedulerPolicy SchedulerConfig::getCapacitySchedulerPolicy() const { return mCapacitySchedulerPolicy; }
std::optional<ContextChunkingPolicy> SchedulerConfig::getContextChunkingPolicy() const { return mContextChunkingPolicy; }

KvCacheConfig::KvCacheConfig(bool enableBlockReuse, std::optional<SizeType32> const& maxTokens,
    std::optional<std::vector<SizeType32>> const& maxAttentionWindowVec, std::optional<SizeType32> const& sinkTokenLength,
    std::optional<FloatType> const& freeGpuMemoryFraction, std::optional<size_t> const& hostCacheSize,
    bool onboardBlocks, std::optional<FloatType> const& crossKvCacheFraction,
    std::optional<RetentionPriority> secondaryOffloadMinPriority, size_t eventBufferMaxSize, bool enablePartialReuse,
    bool copyOnPartialReuse, bool useUvm, SizeType32 attentionDpEventsGatherPeriodMs,
    std::optional<tensorrt_llm::runtime::RuntimeDefaults> const& /*runtimeDefaults*/, uint64_t const& maxGpuTotalBytes)
    : mEnableBlockReuse(enableBlockReuse)
    , mMaxTokens(maxTokens)
    , mMaxAttentionWindowVec(maxAttentionWindowVec)
    , mSinkTokenLength(sinkTokenLength)
    , mCrossKvCacheFraction(crossKvCacheFraction)
    , mHostCacheSize(hostCacheSize)
    , mOnboardBlocks(onboardBlocks)
    , mSecondaryOffloadMinPriority(secondaryOffloadMinPriority)
    , mEventBufferMaxSize(eventBufferMaxSize)
    , mEnablePartialReuse(enablePartialReuse)
    , mCopyOnPartialReuse(copyOnPartialReuse)
    , mUseUvm(useUvm)
    , mAttentionDpEventsGatherPeriodMs(attentionDpEventsGatherPeriodMs)
    , mMaxGpuTotalBytes(maxGpuTotalBytes)
{
    if (freeGpuMemoryFraction)
    {
        setFreeGpuMemoryFraction(*freeGpuMemoryFraction);
    }
}

bool KvCacheConfig::getEnableBlockReuse() const { return mEnableBlockReuse; }
std::optional<SizeType32> KvCacheConfig::getMaxTokens() const { return mMaxTokens; }
std::optional<FloatType> KvCacheConfig::getFreeGpuMemoryFraction() const { return mFreeGpuMemoryFraction; }
void KvCacheConfig::setEnableBlockReuse(bool enableBlockReuse) { mEnableBlockReuse = enableBlockReuse; }
void KvCacheConfig::setMaxTokens(std::optional<SizeType32> maxTokens) { mMaxTokens = maxTokens; }

void KvCacheConfig::setFreeGpuMemoryFraction(FloatType freeGpuMemoryFraction)
{
    check(freeGpuMemoryFraction > 0.F && freeGpuMemoryFraction <= 1.F, "0 < freeGpuMemoryFraction <= 1");
    mFreeGpuMemoryFraction = freeGpuMemoryFraction;
}

ExtendedRuntimePerfKnobConfig::ExtendedRuntimePerfKnobConfig(
    bool multiBlockMode, bool enableContextFMHAFP32Acc, bool cudaGraphMode, SizeType32 cudaGraphCacheSize)
    : mMultiBlockMode(multiBlockMode)
    , mEnableContextFMHAFP32Acc(enableContextFMHAFP32Acc)
    , mCudaGraphMode(cudaGraphMode)
    , mCudaGraphCacheSize(cudaGraphCacheSize)
{
}

OrchestratorConfig::OrchestratorConfig(bool isOrchestrator, std::string workerExecutablePath,
    std::shared_ptr<mpi::MpiComm> orchLeaderComm, bool spawnProcesses)
    : mIsOrchestrator(isOrchestrator)
    , mWorkerExecutablePath(std::move(workerExecutablePath))
    , mOrchLeaderComm(std::move(orchLeaderComm))
    , mSpawnProcesses(spawnProcesses)
{
}

bool OrchestratorConfig::getIsOrchestrator() const { return mIsOrchestrator; }
std::string OrchestratorConfig::getWorkerExecutablePath() const { return mWorkerExecutablePath; }

ParallelConfig::ParallelConfig(CommunicationType commType, CommunicationMode commMode,
    std::optional<std::vector<SizeType32>> deviceIds, std::optional<std::vector<SizeType32>> participantIds,
    std::optional<OrchestratorConfig> const& orchestratorConfig, std::optional<SizeType32> numNodes)
    : mCommType(commType)
    , mCommMode(commMode)
    , mDeviceIds(std::move(deviceIds))
    , mParticipantIds(std::move(participantIds))
    , mOrchestratorConfig(orchestratorConfig)
    , mNumNodes(numNodes)
{
}

CommunicationMode ParallelConfig::getCommunicationMode() const { return mCommMode; }
std::optional<OrchestratorConfig> ParallelConfig::getOrchestratorConfig() const { return mOrchestratorConfig; }

ExecutorConfig::ExecutorConfig(SizeType32 maxBeamWidth, SchedulerConfig schedulerConfig, KvCacheConfig kvCacheConfig,
    bool enableChunkedContext, bool normalizeLogProbs, SizeType32 iterStatsMaxIterations,
    SizeType32 requestStatsMaxIterations, BatchingType batchingType, std::optional<SizeType32> maxBatchSize,
    std::optional<SizeType32> maxNumTokens, std::optional<ParallelConfig> parallelConfig,
    std::optional<PeftCacheConfig> const& peftCacheConfig,
    std::optional<LogitsPostProcessorConfig> logitsPostProcessorConfig, std::optional<DecodingConfig> decodingConfig,
    bool useGpuDirectStorage, float gpuWeightsPercent, std::optional<SizeType32> maxQueueSize,
    ExtendedRuntimePerfKnobConfig const& extendedRuntimePerfKnobConfig, std::optional<DebugConfig> debugConfig,
    SizeType32 recvPollPeriodMs, uint64_t maxSeqIdleMicroseconds,
    std::optional<SpeculativeDecodingConfig> specDecConfig, std::optional<GuidedDecodingConfig> guidedDecodingConfig,
    std::optional<std::vector<AdditionalModelOutput>> additionalModelOutputs,
    std::optional<CacheTransceiverConfig> cacheTransceiverConfig, bool gatherGenerationLogits,
    bool promptTableOffloading, bool enableTrtOverlap, bool failFastOnAttentionWindowTooLarge)
    : mMaxBeamWidth(maxBeamWidth)
    , mSchedulerConfig(std::move(schedulerConfig))
    , mKvCacheConfig(std::move(kvCacheConfig))
    , mEnableChunkedContext(enableChunkedContext)
    , mNormalizeLogProbs(normalizeLogProbs)
    , mIterStatsMaxIterations(iterStatsMaxIterations)
    , mRequestStatsMaxIterations(requestStatsMaxIterations)
    , mBatchingType(batchingType)
    , mMaxBatchSize(maxBatchSize)
    , mMaxNumTokens(maxNumTokens)
    , mParallelConfig(std::move(parallelConfig))
    , mPeftCacheConfig(peftCacheConfig)
    , mLogitsPostProcessorConfig(std::move(logitsPostProcessorConfig))
    , mDecodingConfig(std::move(decodingConfig))
    , mUseGpuDirectStorage(useGpuDirectStorage)
    , mGpuWeightsPercent(gpuWeightsPercent)
    , mMaxQueueSize(maxQueueSize)
    , mExtendedRuntimePerfKnobConfig(extendedRuntimePerfKnobConfig)
    , mDebugConfig(std::move(debugConfig))
    , mRecvPollPeriodMs(recvPollPeriodMs)
    , mMaxSeqIdleMicroseconds(maxSeqIdleMicroseconds)
    , mSpeculativeDecodingConfig(specDecConfig)
    , mGuidedDecodingConfig(std::move(guidedDecodingConfig))
    , mAdditionalModelOutputs(std::move(additionalModelOutputs))
    , mCacheTransceiverConfig(std::move(cacheTransceiverConfig))
    , mGatherGenerationLogits(gatherGenerationLogits)
    , mPromptTableOffloading(promptTableOffloading)
    , mEnableTrtOverlap(enableTrtOverlap)
    , mFailFastOnAttentionWindowTooLarge(failFastOnAttentionWindowTooLarge)
{
}

SizeType32 ExecutorConfig::getMaxBeamWidth() const { return mMaxBeamWidth; }
SchedulerConfig ExecutorConfig::getSchedulerConfig() const { return mSchedulerConfig; }
KvCacheConfig ExecutorConfig::getKvCacheConfig() const { return mKvCacheConfig; }
bool ExecutorConfig::getEnableChunkedContext() const { return mEnableChunkedContext; }
SizeType32 ExecutorConfig::getIterStatsMaxIterations() const { return mIterStatsMaxIterations; }
std::optional<SizeType32> ExecutorConfig::getMaxBatchSize() const { return mMaxBatchSize; }
std::optional<SizeType32> ExecutorConfig::getMaxNumTokens() const { return mMaxNumTokens; }
std::optional<ParallelConfig> ExecutorConfig::getParallelConfig() const { return mParallelConfig; }
void ExecutorConfig::setMaxBeamWidth(SizeType32 maxBeamWidth) { mMaxBeamWidth = maxBeamWidth; }
void ExecutorConfig::setMaxBatchSize(SizeType32 maxBatchSize) { mMaxBatchSize = maxBatchSize; }
void ExecutorConfig::setMaxNumTokens(SizeType32 maxNumTokens) { mMaxNumTokens = maxNumTokens; }
void ExecutorConfig::setSchedulerConfig(SchedulerConfig const& schedulerConfig) { mSchedulerConfig = schedulerConfig; }
void ExecutorConfig::setKvCacheConfig(KvCacheConfig const& kvCacheConfig) { mKvCacheConfig = kvCacheConfig; }
void ExecutorConfig::setEnableChunkedContext(bool enableChunkedContext) { mEnableChunkedContext = enableChunkedContext; }
void ExecutorConfig::setIterStatsMaxIterations(SizeType32 n) { mIterStatsMaxIterations = n; }
void ExecutorConfig::setParallelConfig(ParallelConfig const& parallelConfig) { mParallelConfig = parallelConfig; }

namespace
{

using Clock = std::chrono::steady_clock;

struct Settings
{
    std::chrono::microseconds step{1000};
    TokenIdType vocabSize{32000};
    SizeType32 maxInputLen{4096};
    SizeType32 maxBatchSize{64};
    SizeType32 iterStatsMax{ExecutorConfig::kDefaultIterStatsMaxIterations};
    TokenIdType eosToken{2};
    std::optional<SizeType32> eosAfter;
    std::string requestLog;
    bool servesOnly{false};
};

long parseNumber(std::string const& key, std::string const& value)
{
    try
    {
        std::size_t used = 0;
        long number = std::stol(value, &used);
        if (used == value.size() && number >= 0)
        {
            return number;
        }
    }
    catch (std::exception const&)
    {
    }
    throw std::invalid_argument("test_double.conf: " + key + "=" + value + " is not a number >= 0");
}

Settings readSettings(std::filesystem::path const& dir, ExecutorConfig const& config)
{
    if (!std::filesystem::is_directory(dir))
    {
        throw std::runtime_error("engine directory not found: " + dir.string());
    }
    Settings settings;
    settings.maxBatchSize = config.getMaxBatchSize().value_or(settings.maxBatchSize);
    settings.iterStatsMax = config.getIterStatsMaxIterations();
    std::ifstream file(dir / "test_double.conf");
    std::string line;
    while (std::getline(file, line))
    {
        auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos)
        {
            continue;
        }
        auto key = line.substr(0, eq);
        auto value = line.substr(eq + 1);
        if (key == "fail_construct")
        {
            throw std::runtime_error(value);
        }
        if (key == "step_us")
        {
            settings.step = std::chrono::microseconds(parseNumber(key, value));
        }
        else if (key == "vocab_size")
        {
            settings.vocabSize = static_cast<TokenIdType>(parseNumber(key, value));
        }
        else if (key == "serves_only")
        {
            settings.servesOnly = parseNumber(key, value) != 0;
        }
        else if (key == "max_input_len")
        {
            settings.maxInputLen = static_cast<SizeType32>(parseNumber(key, value));
        }
        else if (key == "eos_token")
        {
            settings.eosToken = static_cast<TokenIdType>(parseNumber(key, value));
        }
        else if (key == "eos_after")
        {
            settings.eosAfter = static_cast<SizeType32>(parseNumber(key, value));
        }
        else if (key == "request_log")
        {
            settings.requestLog = value;
        }
        else
        {
            throw std::invalid_argument("test_double.conf: unknown key '" + key + "'");
        }
    }
    return settings;
}

/// What the decoder does with a request's sampling settings: its defaults are
/// topK 0, topP 0, temperature 1 and seed 0, and topK 0 with topP 0 is run as
/// topK 1 (greedy); topK > 0 with topP 0 as topP 1.
struct Decoding
{
    SizeType32 topK;
    FloatType topP;
    FloatType temperature;
    RandomSeedType seed;

    explicit Decoding(SamplingConfig const& config)
        : topK(config.getTopK().value_or(0))
        , topP(config.getTopP().value_or(0.F))
        , temperature(config.getTemperature().value_or(1.F))
        , seed(config.getSeed().value_or(0))
    {
        if (topK == 0 && topP == 0.F)
        {
            topK = 1;
        }
        if (topK > 0 && topP == 0.F)
        {
            topP = 1.F;
        }
    }

    [[nodiscard]] bool greedy() const
    {
        return topK == 1;
    }
};

std::string optionalNumber(std::optional<SizeType32> const& value)
{
    return value ? std::to_string(*value) : "null";
}

/// One JSON line: what the request asked for and how the double decodes it.
std::string describe(IdType id, Request const& request, Decoding const& decoding)
{
    auto const sampling = request.getSamplingConfig();
    auto const output = request.getOutputConfig();
    std::ostringstream out;
    out << "{\"id\":" << id << ",\"max_tokens\":" << request.getMaxTokens()
        << ",\"streaming\":" << (request.getStreaming() ? "true" : "false")
        << ",\"end_id\":" << optionalNumber(request.getEndId()) << ",\"pad_id\":" << optionalNumber(request.getPadId())
        << ",\"exclude_input_from_output\":" << (output.excludeInputFromOutput ? "true" : "false")
        << ",\"return_perf_metrics\":" << (output.returnPerfMetrics ? "true" : "false")
        << ",\"top_k_set\":" << (sampling.getTopK() ? "true" : "false")
        << ",\"top_p_set\":" << (sampling.getTopP() ? "true" : "false")
        << ",\"decoding\":\"" << (decoding.greedy() ? "greedy" : "sampling") << "\",\"top_k\":" << decoding.topK
        << ",\"top_p\":" << decoding.topP << ",\"temperature\":" << decoding.temperature
        << ",\"seed\":" << decoding.seed << "}";
    return out.str();
}

struct Sequence
{
    IdType id;
    Request request;
    Decoding decoding;
    RequestPerfMetrics perf;
    VecTokens generated;
    std::vector<VecTokens> stopWords;
    bool badToken{false};
};

} // namespace

class Executor::Impl
{
public:
    explicit Impl(Settings settings)
        : mSettings(std::move(settings))
        , mThread([this] { loop(); })
    {
    }

    ~Impl()
    {
        shutdown();
    }

    Impl(Impl const&) = delete;
    Impl& operator=(Impl const&) = delete;

    IdType enqueue(Request const& request)
    {
        auto const& tokens = request.getInputTokenIds();
        check(!tokens.empty(), "input token ids must not be empty");
        check(request.getMaxTokens() > 0, "maxTokens > 0");
        if (static_cast<SizeType32>(tokens.size()) > mSettings.maxInputLen)
        {
            throw std::invalid_argument("prompt of " + std::to_string(tokens.size())
                + " tokens exceeds max_input_len " + std::to_string(mSettings.maxInputLen));
        }
        std::lock_guard lock(mMutex);
        check(!mStop, "the executor has been shut down");
        Sequence sequence{++mLastId, request, Decoding(request.getSamplingConfig()), {}, {}, {}};
        if (auto words = request.getStopWords())
        {
            sequence.stopWords.assign(words->begin(), words->end());
        }
        sequence.perf.timingMetrics.arrivalTime = Clock::now();
        sequence.badToken = std::any_of(tokens.begin(), tokens.end(),
            [this](TokenIdType t) { return t < 0 || t >= mSettings.vocabSize; });
        if (!mSettings.requestLog.empty())
        {
            std::ofstream(mSettings.requestLog, std::ios::app) << describe(sequence.id, request, sequence.decoding)
                                                               << "\n";
        }
        mQueued.push_back(std::move(sequence));
        mWork.notify_all();
        return mLastId;
    }

    std::vector<Response> await(std::optional<std::chrono::milliseconds> const& timeout)
    {
        std::unique_lock lock(mMutex);
        auto ready = [this] { return !mResponses.empty() || mStop; };
        if (timeout)
        {
            mReady.wait_for(lock, *timeout, ready);
        }
        else
        {
            mReady.wait(lock, ready);
        }
        std::vector<Response> out;
        out.swap(mResponses);
        return out;
    }

    SizeType32 ready() const
    {
        std::lock_guard lock(mMutex);
        return static_cast<SizeType32>(mResponses.size());
    }

    void cancel(IdType id)
    {
        std::lock_guard lock(mMutex);
        mCancelled.insert(id);
        mWork.notify_all();
    }

    void shutdown()
    {
        {
            std::lock_guard lock(mMutex);
            mStop = true;
        }
        mWork.notify_all();
        mReady.notify_all();
        if (mThread.joinable())
        {
            mThread.join();
        }
    }

    bool servesOnly() const
    {
        return mSettings.servesOnly;
    }

    std::deque<IterationStats> takeStats()
    {
        std::lock_guard lock(mMutex);
        std::deque<IterationStats> out;
        out.swap(mStats);
        return out;
    }

private:
    void loop()
    {
        auto next = Clock::now();
        std::unique_lock lock(mMutex);
        while (!mStop)
        {
            if (mQueued.empty() && mActive.empty() && mCancelled.empty())
            {
                mWork.wait(lock, [this] { return mStop || !mQueued.empty() || !mCancelled.empty(); });
                next = Clock::now();
                continue;
            }
            next += mSettings.step;
            mWork.wait_until(lock, next, [this] { return mStop; });
            if (mStop)
            {
                break;
            }
            iterate();
            mReady.notify_all();
        }
    }

    // One iteration, under the lock.
    void iterate()
    {
        auto start = Clock::now();
        dropCancelled(mQueued);
        dropCancelled(mActive);
        mCancelled.clear();
        SizeType32 admitted = 0;
        SizeType32 contextTokens = 0;
        while (!mQueued.empty() && static_cast<SizeType32>(mActive.size()) < mSettings.maxBatchSize)
        {
            auto sequence = std::move(mQueued.front());
            mQueued.pop_front();
            if (sequence.badToken)
            {
                mResponses.emplace_back(sequence.id,
                    std::string("input token id outside the vocabulary of ") + std::to_string(mSettings.vocabSize));
                continue;
            }
            sequence.perf.timingMetrics.firstScheduledTime = start;
            contextTokens += static_cast<SizeType32>(sequence.request.getInputTokenIds().size());
            ++admitted;
            mActive.push_back(std::move(sequence));
        }
        auto const now = Clock::now();
        SizeType32 completed = 0;
        for (auto it = mActive.begin(); it != mActive.end();)
        {
            bool done = step(*it, now);
            completed += done ? 1 : 0;
            it = done ? mActive.erase(it) : std::next(it);
        }
        record(start, admitted, contextTokens, completed);
    }

    // The token the model produces at output position `position`.
    TokenIdType modelToken(Sequence const& sequence, SizeType32 position) const
    {
        if (mSettings.eosAfter && position == *mSettings.eosAfter)
        {
            return mSettings.eosToken;
        }
        auto const& prompt = sequence.request.getInputTokenIds();
        std::uint64_t mix = static_cast<std::uint64_t>(prompt.back()) * 1000003ULL + static_cast<std::uint64_t>(position);
        if (!sequence.decoding.greedy())
        {
            mix = mix * 6364136223846793005ULL + sequence.decoding.seed;
        }
        auto const span = static_cast<std::uint64_t>(std::max(mSettings.vocabSize - 3, 1));
        auto token = static_cast<TokenIdType>(3 + mix % span);
        return token == mSettings.eosToken ? token + 1 : token;
    }

    // One decoding step of `sequence`; true when it is finished.
    bool step(Sequence& sequence, Clock::time_point now)
    {
        auto& timing = sequence.perf.timingMetrics;
        auto const& request = sequence.request;
        auto const position = static_cast<SizeType32>(sequence.generated.size());
        auto const token = modelToken(sequence, position);
        // The batch manager reads endId.value_or(-1): no token equals -1.
        bool const endHit = token == request.getEndId().value_or(-1);
        // A stop word ends the request and, unlike the end token, is returned.
        bool stopHit = false;
        for (auto const& word : sequence.stopWords)
        {
            stopHit = stopHit || (word.size() == 1 && word.front() == token);
        }
        if (position == 0)
        {
            timing.firstTokenTime = now;
            sequence.perf.firstIter = mIteration;
        }
        timing.lastTokenTime = now;
        sequence.perf.lastIter = mIteration;
        sequence.perf.iter = mIteration;
        if (!endHit)
        {
            sequence.generated.push_back(token);
        }
        auto const produced = static_cast<SizeType32>(sequence.generated.size());
        bool const lengthHit = produced >= request.getMaxTokens();
        bool const final = endHit || stopHit || lengthHit;
        bool const streaming = request.getStreaming();
        if (!streaming && !final)
        {
            return false;
        }
        Result result{};
        result.isFinal = final;
        result.isSequenceFinal = final;
        VecTokens out;
        if (streaming)
        {
            if (!endHit)
            {
                out.push_back(token);
            }
        }
        else
        {
            if (!request.getOutputConfig().excludeInputFromOutput)
            {
                out = request.getInputTokenIds();
            }
            out.insert(out.end(), sequence.generated.begin(), sequence.generated.end());
        }
        result.outputTokenIds = {std::move(out)};
        result.decodingIter = produced;
        result.finishReasons = {endHit ? FinishReason::kEND_ID
                : stopHit                 ? FinishReason::kSTOP_WORDS
                : lengthHit               ? FinishReason::kLENGTH
                                          : FinishReason::kNOT_FINISHED};
        if (request.getOutputConfig().returnPerfMetrics)
        {
            result.requestPerfMetrics = sequence.perf;
        }
        mResponses.emplace_back(sequence.id, std::move(result), request.getClientId());
        return final;
    }

    // Cancelled requests end with a final, empty result, as the real API does.
    template <typename Container>
    void dropCancelled(Container& sequences)
    {
        for (auto it = sequences.begin(); it != sequences.end();)
        {
            if (mCancelled.count(it->id) == 0)
            {
                ++it;
                continue;
            }
            Result result{};
            result.isFinal = true;
            result.isSequenceFinal = true;
            result.outputTokenIds = {VecTokens{}};
            result.finishReasons = {FinishReason::kCANCELLED};
            mResponses.emplace_back(it->id, std::move(result));
            it = sequences.erase(it);
        }
    }

    void record(Clock::time_point start, SizeType32 admitted, SizeType32 contextTokens, SizeType32 completed)
    {
        IterationStats stats{};
        stats.timestamp = std::to_string(mIteration);
        stats.iter = mIteration++;
        stats.iterLatencyMS = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        stats.numNewActiveRequests = admitted;
        stats.numActiveRequests = static_cast<SizeType32>(mActive.size());
        stats.numQueuedRequests = static_cast<SizeType32>(mQueued.size());
        stats.numCompletedRequests = completed;
        stats.maxNumActiveRequests = mSettings.maxBatchSize;
        InflightBatchingStats batch{};
        batch.numScheduledRequests = static_cast<SizeType32>(mActive.size()) + completed;
        batch.numContextRequests = admitted;
        batch.numGenRequests = batch.numScheduledRequests - admitted;
        batch.numCtxTokens = contextTokens;
        batch.avgNumDecodedTokensPerIter = 1.F;
        stats.inflightBatchingStats = batch;
        KvCacheStats kv{};
        kv.tokensPerBlock = 32;
        kv.maxNumBlocks = mSettings.maxBatchSize * 64;
        kv.usedNumBlocks = static_cast<SizeType32>(mActive.size()) * 2;
        kv.freeNumBlocks = kv.maxNumBlocks - kv.usedNumBlocks;
        stats.kvCacheStats = kv;
        mStats.push_back(std::move(stats));
        while (static_cast<SizeType32>(mStats.size()) > std::max(mSettings.iterStatsMax, 0))
        {
            mStats.pop_front();
        }
    }

    Settings const mSettings;
    mutable std::mutex mMutex;
    std::condition_variable mWork;
    std::condition_variable mReady;
    bool mStop{false};
    IdType mLastId{0};
    IterationType mIteration{0};
    std::deque<Sequence> mQueued;
    std::deque<Sequence> mActive;
    std::unordered_set<IdType> mCancelled;
    std::vector<Response> mResponses;
    std::deque<IterationStats> mStats;
    std::thread mThread; // last: starts once everything above exists
};

namespace
{

// The real library links these; the double calls them so its dependencies are real.
void checkCudaLibraries()
{
    int runtime = 0;
    int cublasMajor = 0;
    int nccl = 0;
    check(cudaRuntimeGetVersion(&runtime) == cudaSuccess && runtime > 0, "the CUDA runtime reports its version");
    check(cublasGetProperty(MAJOR_VERSION, &cublasMajor) == CUBLAS_STATUS_SUCCESS && cublasMajor > 0,
        "cuBLAS reports its version");
    check(ncclGetVersion(&nccl) == ncclSuccess && nccl > 0, "NCCL reports its version");
}

} // namespace

Executor::Executor(std::filesystem::path const& modelPath, ModelType modelType, ExecutorConfig const& executorConfig)
{
    check(modelType == ModelType::kDECODER_ONLY, "the test double only simulates decoder-only models");
    checkCudaLibraries();
    if (auto parallel = executorConfig.getParallelConfig(); parallel && parallel->getOrchestratorConfig())
    {
        auto worker = parallel->getOrchestratorConfig()->getWorkerExecutablePath();
        if (!std::filesystem::is_regular_file(worker))
        {
            throw std::runtime_error("worker executable not found: " + worker);
        }
    }
    mImpl = std::make_unique<Impl>(readSettings(modelPath, executorConfig));
}

Executor::~Executor() = default;

IdType Executor::enqueueRequest(Request const& request)
{
    return mImpl->enqueue(request);
}

std::vector<IdType> Executor::enqueueRequests(std::vector<Request> const& requests)
{
    std::vector<IdType> ids;
    ids.reserve(requests.size());
    for (auto const& request : requests)
    {
        ids.push_back(mImpl->enqueue(request));
    }
    return ids;
}

std::vector<Response> Executor::awaitResponses(std::optional<std::chrono::milliseconds> const& timeout)
{
    return mImpl->await(timeout);
}

SizeType32 Executor::getNumResponsesReady(std::optional<IdType> const& /*requestId*/) const
{
    return mImpl->ready();
}

void Executor::cancelRequest(IdType requestId)
{
    mImpl->cancel(requestId);
}

void Executor::shutdown()
{
    mImpl->shutdown();
}

std::deque<IterationStats> Executor::getLatestIterationStats()
{
    return mImpl->takeStats();
}

bool Executor::canEnqueueRequests() const
{
    return !mImpl->servesOnly();
}

bool Executor::isParticipant() const
{
    return true;
}

TRTLLM_DOUBLE_END(executor)
