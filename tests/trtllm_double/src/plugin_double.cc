// Test double of TensorRT-LLM's plugin library
// (libnvinfer_plugin_tensorrt_llm.so): the registration entry point with the
// real signature and default logger. Registers nothing; always succeeds.

#include "tensorrt_llm/plugins/api/tllmPlugin.h"

namespace tensorrt_llm::plugins::api
{

nvinfer1::ILogger* LoggerManager::defaultLogger() noexcept
{
    return nullptr;
}

} // namespace tensorrt_llm::plugins::api

extern "C" bool initTrtLlmPlugins(void* /*logger*/, char const* /*libNamespace*/)
{
    return true;
}
