// Test double of TensorRT-LLM's `plugins/api/tllmPlugin.h` (declarations read
// at commit 2164cc8); not upstream code. initTrtLlmPlugins' default logger is
// LoggerManager::defaultLogger(), as in the real header, so a call with the
// defaults needs that symbol from the plugin library.
#pragma once

#include "tensorrt_llm/common/config.h"

#include <cstdint>
#include <mutex>

namespace nvinfer1
{
class ILoggerFinder;
class ILogger;

namespace v_1_0
{
class IPluginCreator;
class IPluginCreatorV3One;
class IPluginCreatorInterface;
} // namespace v_1_0

} // namespace nvinfer1

namespace tensorrt_llm::plugins::api
{

auto constexpr kDefaultNamespace = "tensorrt_llm";

class LoggerManager
{
public:
    void setLoggerFinder(nvinfer1::ILoggerFinder* finder);

    [[maybe_unused]] nvinfer1::ILogger* logger();

    static LoggerManager& getInstance() noexcept;

    static TRTLLM_API nvinfer1::ILogger* defaultLogger() noexcept;

private:
    LoggerManager() = default;

    nvinfer1::ILoggerFinder* mLoggerFinder{nullptr};
    std::mutex mMutex;
};
} // namespace tensorrt_llm::plugins::api

extern "C"
{
    TRTLLM_API bool initTrtLlmPlugins(void* logger = tensorrt_llm::plugins::api::LoggerManager::defaultLogger(),
        char const* libNamespace = tensorrt_llm::plugins::api::kDefaultNamespace);

    [[maybe_unused]] TRTLLM_API void setLoggerFinder([[maybe_unused]] nvinfer1::ILoggerFinder* finder);
    [[maybe_unused]] TRTLLM_API nvinfer1::v_1_0::IPluginCreator* const* getPluginCreators(std::int32_t& nbCreators);
    [[maybe_unused]] TRTLLM_API nvinfer1::v_1_0::IPluginCreatorInterface* const* getCreators(std::int32_t& nbCreators);
}
