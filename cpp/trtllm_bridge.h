// C++ side of the `trtllm` engine's #[cxx::bridge] (src/engine/trtllm/bridge.rs):
// a thin owner of one executor that turns its API into plain data. Every
// function that may throw is declared `Result` on the Rust side.
//
// This header names no TensorRT-LLM type: the executor lives behind a pointer
// to an implementation defined in trtllm_bridge.cc, after the real headers.
// Declaring `tensorrt_llm::executor::Executor` here would break on the headers
// that wrap everything in an inline ABI namespace (TRTLLM_NAMESPACE_BEGIN:
// `tensorrt_llm::_v1::executor`), where the name would then be ambiguous.
#pragma once

#include "rust/cxx.h"

#include <cstdint>
#include <memory>
#include <mutex>

namespace enginebench::trtllm
{

struct ExecutorSettings;
struct RequestSpec;
struct Delivery;
struct IterationSnapshot;

class TrtllmExecutor
{
public:
    struct Impl;

    explicit TrtllmExecutor(std::unique_ptr<Impl> impl);
    ~TrtllmExecutor();
    TrtllmExecutor(TrtllmExecutor const&) = delete;
    TrtllmExecutor& operator=(TrtllmExecutor const&) = delete;

    bool can_enqueue() const;
    std::uint64_t enqueue(rust::Slice<std::uint32_t const> prompt, RequestSpec const& spec) const;
    rust::Vec<Delivery> await_responses(std::uint32_t timeout_ms) const;
    void cancel(std::uint64_t request_id) const;
    rust::Vec<IterationSnapshot> take_iteration_stats() const;
    void shutdown() const;

private:
    std::unique_ptr<Impl> mImpl;
    mutable std::once_flag mShutdown;
};

void init_plugins();
rust::String library_version();
std::unique_ptr<TrtllmExecutor> new_executor(ExecutorSettings const& settings);

} // namespace enginebench::trtllm
