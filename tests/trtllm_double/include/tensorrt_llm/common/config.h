// Test double of TensorRT-LLM's `common/config.h`, written from its
// declarations (1.2 line: only TRTLLM_API; later, e.g. commit 843e27b: also the
// ABI namespace macros). Not upstream code.
//
// The double has two namespace layouts, chosen when it is built:
//   plain   (default)                       namespace tensorrt_llm::executor
//   inline  (-DTRTLLM_DOUBLE_INLINE_NAMESPACE) namespace tensorrt_llm { inline namespace _v1 { namespace executor
// The second is what TRTLLM_NAMESPACE_BEGIN produces in the later headers.
#pragma once
#ifndef TRTLLM_CONFIG_H
#define TRTLLM_CONFIG_H

#define TRTLLM_API __attribute__((visibility("default")))

#ifdef TRTLLM_DOUBLE_INLINE_NAMESPACE

#ifndef TRTLLM_ABI_NAMESPACE
#define TRTLLM_ABI_NAMESPACE _v1
#endif

#ifndef TRTLLM_ABI_NAMESPACE_BEGIN
#define TRTLLM_ABI_NAMESPACE_BEGIN inline namespace TRTLLM_ABI_NAMESPACE {
#endif

#ifndef TRTLLM_ABI_NAMESPACE_END
#define TRTLLM_ABI_NAMESPACE_END }
#endif

#define TRTLLM_NAMESPACE_BEGIN namespace tensorrt_llm { TRTLLM_ABI_NAMESPACE_BEGIN
#define TRTLLM_NAMESPACE_END TRTLLM_ABI_NAMESPACE_END }

#endif // TRTLLM_DOUBLE_INLINE_NAMESPACE

// The double's own shorthand for opening `tensorrt_llm::<ns>` in the chosen layout.
#ifdef TRTLLM_DOUBLE_INLINE_NAMESPACE
#define TRTLLM_DOUBLE_BEGIN(ns) TRTLLM_NAMESPACE_BEGIN namespace ns {
#define TRTLLM_DOUBLE_END(ns) } TRTLLM_NAMESPACE_END
#else
#define TRTLLM_DOUBLE_BEGIN(ns) namespace tensorrt_llm::ns {
#define TRTLLM_DOUBLE_END(ns) }
#endif

#endif // TRTLLM_CONFIG_H
