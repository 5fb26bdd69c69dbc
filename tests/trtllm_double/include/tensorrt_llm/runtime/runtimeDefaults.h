// Test double of TensorRT-LLM's `runtime/runtimeDefaults.h` (declarations read
// at commit 3585984); not upstream code.
#pragma once

#include "tensorrt_llm/common/config.h"
#include "tensorrt_llm/runtime/common.h"

#include <optional>
#include <vector>

TRTLLM_DOUBLE_BEGIN(runtime)

struct RuntimeDefaults
{
    RuntimeDefaults(
        std::optional<std::vector<SizeType32>> maxAttentionWindowVec, std::optional<SizeType32> sinkTokenLength)
        : maxAttentionWindowVec(std::move(maxAttentionWindowVec))
        , sinkTokenLength(sinkTokenLength)
    {
    }

    std::optional<std::vector<SizeType32>> maxAttentionWindowVec;
    std::optional<SizeType32> sinkTokenLength;

    RuntimeDefaults() = default;
};

TRTLLM_DOUBLE_END(runtime)
