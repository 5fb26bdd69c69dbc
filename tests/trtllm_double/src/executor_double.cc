// Test double of the executor API subset used by enginebench's bridge.
//
// It simulates iteration-level (in-flight) batching on one background thread:
// every `step_us` it admits queued requests while the batch has room, gives
// every active request one output token, and finishes requests that reached
// their budget. Responses stream from that thread and are collected by
// awaitResponses(), as with the real executor. Bad requests fail the way the
// real API reports them: at enqueue with an exception (nothing can run it) or
// later with an error response (a token id outside the vocabulary).
//
// Settings, from `<engine dir>/test_double.conf`, one `key=value` per line:
//   step_us         time per iteration (default 1000)
//   vocab_size      token ids must be below it (default 32000)
//   max_input_len   longest prompt accepted at enqueue (default 4096)
//   fail_construct  if set, the constructor throws with this message
//   serves_only     1: act as a non-leader rank of leader mode (cannot enqueue)

#include "tensorrt_llm/executor/executor.h"
#include "tensorrt_llm/plugins/api/tllmPlugin.h"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace tensorrt_llm::executor
{

char const* version() noexcept
{
    return "test-double";
}

SamplingConfig::SamplingConfig(SizeType32 beamWidth)
    : mBeamWidth(beamWidth)
{
}

SizeType32 SamplingConfig::getBeamWidth() const { return mBeamWidth; }
std::optional<SizeType32> SamplingConfig::getTopK() const { return mTopK; }
std::optional<FloatType> SamplingConfig::getTopP() const { return mTopP; }
std::optional<RandomSeedType> SamplingConfig::getSeed() const { return mSeed; }
std::optional<FloatType> SamplingConfig::getTemperature() const { return mTemperature; }
void SamplingConfig::setBeamWidth(SizeType32 beamWidth) { mBeamWidth = beamWidth; }
void SamplingConfig::setTopK(std::optional<SizeType32> const& topK) { mTopK = topK; }
void SamplingConfig::setTopP(std::optional<FloatType> const& topP) { mTopP = topP; }
void SamplingConfig::setSeed(std::optional<RandomSeedType> const& seed) { mSeed = seed; }
void SamplingConfig::setTemperature(std::optional<FloatType> const& temperature) { mTemperature = temperature; }

OutputConfig::OutputConfig(bool returnLogProbs, bool returnContextLogits, bool returnGenerationLogits,
    bool excludeInputFromOutput, bool returnEncoderOutput, bool returnPerfMetrics)
    : returnLogProbs(returnLogProbs)
    , returnContextLogits(returnContextLogits)
    , returnGenerationLogits(returnGenerationLogits)
    , excludeInputFromOutput(excludeInputFromOutput)
    , returnEncoderOutput(returnEncoderOutput)
    , returnPerfMetrics(returnPerfMetrics)
{
}

Request::Request(VecTokens inputTokenIds, SizeType32 maxTokens, bool streaming, SamplingConfig const& samplingConfig,
    OutputConfig const& outputConfig, std::optional<SizeType32> const& endId)
    : mInputTokenIds(std::move(inputTokenIds))
    , mMaxTokens(maxTokens)
    , mStreaming(streaming)
    , mSamplingConfig(samplingConfig)
    , mOutputConfig(outputConfig)
    , mEndId(endId)
{
}

VecTokens Request::getInputTokenIds() const { return mInputTokenIds; }
SizeType32 Request::getMaxTokens() const { return mMaxTokens; }
bool Request::getStreaming() const { return mStreaming; }
SamplingConfig Request::getSamplingConfig() const { return mSamplingConfig; }
OutputConfig Request::getOutputConfig() const { return mOutputConfig; }
std::optional<SizeType32> Request::getEndId() const { return mEndId; }

Response::Response(IdType requestId, std::string errorMsg, std::optional<IdType> clientId)
    : mRequestId(requestId)
    , mClientId(clientId)
    , mErrorMsg(std::move(errorMsg))
{
}

Response::Response(IdType requestId, Result result, std::optional<IdType> clientId)
    : mRequestId(requestId)
    , mClientId(clientId)
    , mResult(std::move(result))
{
}

IdType Response::getRequestId() const { return mRequestId; }
std::optional<IdType> Response::getClientId() const { return mClientId; }
bool Response::hasError() const { return mErrorMsg.has_value(); }

std::string const& Response::getErrorMsg() const
{
    if (!mErrorMsg)
    {
        throw std::logic_error("response has no error");
    }
    return *mErrorMsg;
}

Result const& Response::getResult() const
{
    if (!mResult)
    {
        throw std::logic_error("response has an error, not a result");
    }
    return *mResult;
}

SchedulerConfig::SchedulerConfig(
    CapacitySchedulerPolicy capacitySchedulerPolicy, std::optional<ContextChunkingPolicy> contextChunkingPolicy)
    : mCapacitySchedulerPolicy(capacitySchedulerPolicy)
    , mContextChunkingPolicy(contextChunkingPolicy)
{
}

CapacitySchedulerPolicy SchedulerConfig::getCapacitySchedulerPolicy() const { return mCapacitySchedulerPolicy; }
std::optional<ContextChunkingPolicy> SchedulerConfig::getContextChunkingPolicy() const { return mContextChunkingPolicy; }

KvCacheConfig::KvCacheConfig(bool enableBlockReuse, std::optional<SizeType32> const& maxTokens)
    : mEnableBlockReuse(enableBlockReuse)
    , mMaxTokens(maxTokens)
{
}

bool KvCacheConfig::getEnableBlockReuse() const { return mEnableBlockReuse; }
std::optional<SizeType32> KvCacheConfig::getMaxTokens() const { return mMaxTokens; }
std::optional<FloatType> KvCacheConfig::getFreeGpuMemoryFraction() const { return mFreeGpuMemoryFraction; }
void KvCacheConfig::setEnableBlockReuse(bool enableBlockReuse) { mEnableBlockReuse = enableBlockReuse; }
void KvCacheConfig::setMaxTokens(std::optional<SizeType32> maxTokens) { mMaxTokens = maxTokens; }

void KvCacheConfig::setFreeGpuMemoryFraction(FloatType freeGpuMemoryFraction)
{
    if (!(freeGpuMemoryFraction > 0.F && freeGpuMemoryFraction <= 1.F))
    {
        throw std::invalid_argument("freeGpuMemoryFraction must be in (0, 1]");
    }
    mFreeGpuMemoryFraction = freeGpuMemoryFraction;
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
    std::optional<OrchestratorConfig> const& orchestratorConfig)
    : mCommType(commType)
    , mCommMode(commMode)
    , mDeviceIds(std::move(deviceIds))
    , mParticipantIds(std::move(participantIds))
    , mOrchestratorConfig(orchestratorConfig)
{
}

CommunicationMode ParallelConfig::getCommunicationMode() const { return mCommMode; }
std::optional<OrchestratorConfig> ParallelConfig::getOrchestratorConfig() const { return mOrchestratorConfig; }

ExecutorConfig::ExecutorConfig(SizeType32 maxBeamWidth, SchedulerConfig schedulerConfig, KvCacheConfig kvCacheConfig,
    bool enableChunkedContext, bool normalizeLogProbs, SizeType32 iterStatsMaxIterations)
    : mMaxBeamWidth(maxBeamWidth)
    , mSchedulerConfig(schedulerConfig)
    , mKvCacheConfig(kvCacheConfig)
    , mEnableChunkedContext(enableChunkedContext)
    , mNormalizeLogProbs(normalizeLogProbs)
    , mIterStatsMaxIterations(iterStatsMaxIterations)
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
        else
        {
            throw std::invalid_argument("test_double.conf: unknown key '" + key + "'");
        }
    }
    return settings;
}

struct Sequence
{
    IdType id;
    Request request;
    RequestPerfMetrics perf;
    SizeType32 generated{0};
    bool badToken{false};
};

} // namespace

class Executor::Impl
{
public:
    Impl(Settings settings)
        : mSettings(settings)
        , mThread([this] { loop(); })
    {
    }

    ~Impl()
    {
        shutdown();
    }

    IdType enqueue(Request const& request)
    {
        auto const& tokens = request.getInputTokenIds();
        if (tokens.empty())
        {
            throw std::invalid_argument("input token ids must not be empty");
        }
        if (request.getMaxTokens() <= 0)
        {
            throw std::invalid_argument("maxTokens must be positive");
        }
        if (static_cast<SizeType32>(tokens.size()) > mSettings.maxInputLen)
        {
            throw std::invalid_argument("prompt of " + std::to_string(tokens.size())
                + " tokens exceeds max_input_len " + std::to_string(mSettings.maxInputLen));
        }
        std::lock_guard lock(mMutex);
        if (mStop)
        {
            throw std::runtime_error("executor has been shut down");
        }
        Sequence sequence{++mLastId, request, {}};
        sequence.perf.timingMetrics.arrivalTime = Clock::now();
        sequence.badToken = std::any_of(tokens.begin(), tokens.end(),
            [this](TokenIdType t) { return t < 0 || t >= mSettings.vocabSize; });
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
                mResponses.emplace_back(sequence.id, std::string("input token id outside the vocabulary of ")
                        + std::to_string(mSettings.vocabSize));
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

    // Gives one token to `sequence`; true when it is finished.
    bool step(Sequence& sequence, Clock::time_point now)
    {
        auto& timing = sequence.perf.timingMetrics;
        if (sequence.generated == 0)
        {
            timing.firstTokenTime = now;
            sequence.perf.firstIter = mIteration;
        }
        ++sequence.generated;
        timing.lastTokenTime = now;
        sequence.perf.lastIter = mIteration;
        sequence.perf.iter = mIteration;
        bool final = sequence.generated >= sequence.request.getMaxTokens();
        bool streaming = sequence.request.getStreaming();
        if (!streaming && !final)
        {
            return false;
        }
        Result result{};
        result.isFinal = final;
        result.isSequenceFinal = final;
        auto count = streaming ? 1 : sequence.generated;
        result.outputTokenIds = {VecTokens(static_cast<std::size_t>(count), 7 % mSettings.vocabSize)};
        result.finishReasons = {final ? FinishReason::kLENGTH : FinishReason::kNOT_FINISHED};
        if (sequence.request.getOutputConfig().returnPerfMetrics)
        {
            result.requestPerfMetrics = sequence.perf;
        }
        mResponses.emplace_back(sequence.id, std::move(result));
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
    std::mutex mMutex;
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

Executor::Executor(std::filesystem::path const& modelPath, ModelType modelType, ExecutorConfig const& executorConfig)
{
    if (modelType != ModelType::kDECODER_ONLY)
    {
        throw std::invalid_argument("the test double only simulates decoder-only models");
    }
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

std::vector<Response> Executor::awaitResponses(std::optional<std::chrono::milliseconds> const& timeout)
{
    return mImpl->await(timeout);
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

} // namespace tensorrt_llm::executor

extern "C" bool initTrtLlmPlugins(void* /*logger*/, char const* /*libNamespace*/)
{
    return true;
}
