// Test double: the plugin-registration entry point with the signature the
// bridge calls. Registers nothing; always succeeds.
#pragma once

extern "C"
{
    bool initTrtLlmPlugins(void* logger = nullptr, char const* libNamespace = "tensorrt_llm");
}
