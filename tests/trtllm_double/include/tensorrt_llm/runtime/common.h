// Test double of TensorRT-LLM's `runtime/common.h` (declarations read at
// commit 201135e); not upstream code.
#pragma once

#include "tensorrt_llm/common/config.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

TRTLLM_DOUBLE_BEGIN(runtime)

using SizeType32 = std::int32_t;
using TokenIdType = std::int32_t;
using LoraTaskIdType = std::uint64_t;
using TokenExtraIdType = std::uint64_t;
using VecTokenExtraIds = std::vector<TokenExtraIdType>;

struct UniqueToken
{
    TokenIdType tokenId;
    TokenExtraIdType tokenExtraId;

    bool operator==(UniqueToken const& other) const noexcept
    {
        return tokenId == other.tokenId && tokenExtraId == other.tokenExtraId;
    }
};

using VecUniqueTokens = std::vector<UniqueToken>;

template <typename T>
using StringPtrMap = std::unordered_map<std::string, std::shared_ptr<T>>;

TRTLLM_DOUBLE_END(runtime)
