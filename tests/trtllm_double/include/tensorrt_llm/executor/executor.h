// Test double: the subset of the executor API that enginebench's bridge uses,
// with the same names and signatures, written for the tests (see types.h).
// Its Executor simulates in-flight batching on a background thread; it runs no
// model. Settings come from `test_double.conf` in the "engine" directory.
#pragma once

#include "tensorrt_llm/executor/types.h"

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tensorrt_llm::mpi
{
class MpiComm;
} // namespace tensorrt_llm::mpi

namespace tensorrt_llm::executor
{

/// Reports "test-double", never a library version.
char const* version() noexcept;

class SamplingConfig
{
public:
    explicit SamplingConfig(SizeType32 beamWidth = 1);

    [[nodiscard]] SizeType32 getBeamWidth() const;
    [[nodiscard]] std::optional<SizeType32> getTopK() const;
    [[nodiscard]] std::optional<FloatType> getTopP() const;
    [[nodiscard]] std::optional<RandomSeedType> getSeed() const;
    [[nodiscard]] std::optional<FloatType> getTemperature() const;

    void setBeamWidth(SizeType32 beamWidth);
    void setTopK(std::optional<SizeType32> const& topK);
    void setTopP(std::optional<FloatType> const& topP);
    void setSeed(std::optional<RandomSeedType> const& seed);
    void setTemperature(std::optional<FloatType> const& temperature);

private:
    SizeType32 mBeamWidth;
    std::optional<SizeType32> mTopK;
    std::optional<FloatType> mTopP;
    std::optional<RandomSeedType> mSeed;
    std::optional<FloatType> mTemperature;
};

class OutputConfig
{
public:
    explicit OutputConfig(bool returnLogProbs = false, bool returnContextLogits = false,
        bool returnGenerationLogits = false, bool excludeInputFromOutput = false, bool returnEncoderOutput = false,
        bool returnPerfMetrics = false);

    bool returnLogProbs;
    bool returnContextLogits;
    bool returnGenerationLogits;
    bool excludeInputFromOutput;
    bool returnEncoderOutput;
    bool returnPerfMetrics;
};

class Request
{
public:
    Request(VecTokens inputTokenIds, SizeType32 maxTokens, bool streaming = false,
        SamplingConfig const& samplingConfig = SamplingConfig(), OutputConfig const& outputConfig = OutputConfig(),
        std::optional<SizeType32> const& endId = std::nullopt);

    [[nodiscard]] VecTokens getInputTokenIds() const;
    [[nodiscard]] SizeType32 getMaxTokens() const;
    [[nodiscard]] bool getStreaming() const;
    [[nodiscard]] SamplingConfig getSamplingConfig() const;
    [[nodiscard]] OutputConfig getOutputConfig() const;
    [[nodiscard]] std::optional<SizeType32> getEndId() const;

private:
    VecTokens mInputTokenIds;
    SizeType32 mMaxTokens;
    bool mStreaming;
    SamplingConfig mSamplingConfig;
    OutputConfig mOutputConfig;
    std::optional<SizeType32> mEndId;
};

struct Result
{
    bool isFinal;
    BeamTokens outputTokenIds;
    std::vector<FinishReason> finishReasons;
    SizeType32 sequenceIndex{0};
    bool isSequenceFinal;
    std::optional<RequestPerfMetrics> requestPerfMetrics;
};

class Response
{
public:
    Response(IdType requestId, std::string errorMsg, std::optional<IdType> clientId = std::nullopt);
    Response(IdType requestId, Result result, std::optional<IdType> clientId = std::nullopt);

    [[nodiscard]] IdType getRequestId() const;
    [[nodiscard]] std::optional<IdType> getClientId() const;
    [[nodiscard]] bool hasError() const;
    /// Throws when the response holds a result.
    [[nodiscard]] std::string const& getErrorMsg() const;
    /// Throws when the response holds an error.
    [[nodiscard]] Result const& getResult() const;

private:
    IdType mRequestId;
    std::optional<IdType> mClientId;
    std::optional<std::string> mErrorMsg;
    std::optional<Result> mResult;
};

class SchedulerConfig
{
public:
    explicit SchedulerConfig(
        CapacitySchedulerPolicy capacitySchedulerPolicy = CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT,
        std::optional<ContextChunkingPolicy> contextChunkingPolicy = std::nullopt);

    [[nodiscard]] CapacitySchedulerPolicy getCapacitySchedulerPolicy() const;
    [[nodiscard]] std::optional<ContextChunkingPolicy> getContextChunkingPolicy() const;

private:
    CapacitySchedulerPolicy mCapacitySchedulerPolicy;
    std::optional<ContextChunkingPolicy> mContextChunkingPolicy;
};

class KvCacheConfig
{
public:
    explicit KvCacheConfig(bool enableBlockReuse = true, std::optional<SizeType32> const& maxTokens = std::nullopt);

    [[nodiscard]] bool getEnableBlockReuse() const;
    [[nodiscard]] std::optional<SizeType32> getMaxTokens() const;
    [[nodiscard]] std::optional<FloatType> getFreeGpuMemoryFraction() const;

    void setEnableBlockReuse(bool enableBlockReuse);
    void setMaxTokens(std::optional<SizeType32> maxTokens);
    void setFreeGpuMemoryFraction(FloatType freeGpuMemoryFraction);

private:
    bool mEnableBlockReuse;
    std::optional<SizeType32> mMaxTokens;
    std::optional<FloatType> mFreeGpuMemoryFraction;
};

class OrchestratorConfig
{
public:
    explicit OrchestratorConfig(bool isOrchestrator = true, std::string workerExecutablePath = "",
        std::shared_ptr<mpi::MpiComm> orchLeaderComm = nullptr, bool spawnProcesses = true);

    [[nodiscard]] bool getIsOrchestrator() const;
    [[nodiscard]] std::string getWorkerExecutablePath() const;

private:
    bool mIsOrchestrator;
    std::string mWorkerExecutablePath;
    std::shared_ptr<mpi::MpiComm> mOrchLeaderComm;
    bool mSpawnProcesses;
};

class ParallelConfig
{
public:
    explicit ParallelConfig(CommunicationType commType = CommunicationType::kMPI,
        CommunicationMode commMode = CommunicationMode::kLEADER,
        std::optional<std::vector<SizeType32>> deviceIds = std::nullopt,
        std::optional<std::vector<SizeType32>> participantIds = std::nullopt,
        std::optional<OrchestratorConfig> const& orchestratorConfig = std::nullopt);

    [[nodiscard]] CommunicationMode getCommunicationMode() const;
    [[nodiscard]] std::optional<OrchestratorConfig> getOrchestratorConfig() const;

private:
    CommunicationType mCommType;
    CommunicationMode mCommMode;
    std::optional<std::vector<SizeType32>> mDeviceIds;
    std::optional<std::vector<SizeType32>> mParticipantIds;
    std::optional<OrchestratorConfig> mOrchestratorConfig;
};

class ExecutorConfig
{
public:
    static constexpr SizeType32 kDefaultIterStatsMaxIterations = 1000;

    explicit ExecutorConfig(SizeType32 maxBeamWidth = 1, SchedulerConfig schedulerConfig = SchedulerConfig(),
        KvCacheConfig kvCacheConfig = KvCacheConfig(), bool enableChunkedContext = true, bool normalizeLogProbs = true,
        SizeType32 iterStatsMaxIterations = kDefaultIterStatsMaxIterations);

    [[nodiscard]] SizeType32 getMaxBeamWidth() const;
    [[nodiscard]] SchedulerConfig getSchedulerConfig() const;
    [[nodiscard]] KvCacheConfig getKvCacheConfig() const;
    [[nodiscard]] bool getEnableChunkedContext() const;
    [[nodiscard]] SizeType32 getIterStatsMaxIterations() const;
    [[nodiscard]] std::optional<SizeType32> getMaxBatchSize() const;
    [[nodiscard]] std::optional<SizeType32> getMaxNumTokens() const;
    [[nodiscard]] std::optional<ParallelConfig> getParallelConfig() const;

    void setMaxBeamWidth(SizeType32 maxBeamWidth);
    void setMaxBatchSize(SizeType32 maxBatchSize);
    void setMaxNumTokens(SizeType32 maxNumTokens);
    void setSchedulerConfig(SchedulerConfig const& schedulerConfig);
    void setKvCacheConfig(KvCacheConfig const& kvCacheConfig);
    void setEnableChunkedContext(bool enableChunkedContext);
    void setIterStatsMaxIterations(SizeType32 iterStatsMaxIterations);
    void setParallelConfig(ParallelConfig const& parallelConfig);

private:
    SizeType32 mMaxBeamWidth;
    SchedulerConfig mSchedulerConfig;
    KvCacheConfig mKvCacheConfig;
    bool mEnableChunkedContext;
    bool mNormalizeLogProbs;
    SizeType32 mIterStatsMaxIterations;
    std::optional<SizeType32> mMaxBatchSize;
    std::optional<SizeType32> mMaxNumTokens;
    std::optional<ParallelConfig> mParallelConfig;
};

class Executor
{
public:
    /// Throws when `modelPath` is not a directory or its test_double.conf is malformed.
    Executor(std::filesystem::path const& modelPath, ModelType modelType, ExecutorConfig const& executorConfig);

    ~Executor();
    Executor(Executor const& executor) = delete;
    Executor& operator=(Executor const& executor) = delete;

    /// Throws for requests that can never run (empty prompt, no output budget,
    /// too long) and after shutdown.
    [[nodiscard]] IdType enqueueRequest(Request const& request);

    [[nodiscard]] std::vector<Response> awaitResponses(
        std::optional<std::chrono::milliseconds> const& timeout = std::nullopt);

    void cancelRequest(IdType requestId);

    void shutdown();

    std::deque<IterationStats> getLatestIterationStats();

    [[nodiscard]] bool canEnqueueRequests() const;

    [[nodiscard]] bool isParticipant() const;

private:
    class Impl;
    std::unique_ptr<Impl> mImpl;
};

} // namespace tensorrt_llm::executor
