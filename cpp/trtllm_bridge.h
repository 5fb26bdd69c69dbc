// C++ side of the `trtllm` engine's #[cxx::bridge] (src/engine/trtllm/bridge.rs):
// a thin owner of one executor that turns its API into plain data. Every
// function that may throw is declared `Result` on the Rust side.
#pragma once

#include "rust/cxx.h"

#include <cstdint>
#include <memory>
#include <mutex>

namespace tensorrt_llm::executor
{
class Executor;
} // namespace tensorrt_llm::executor

namespace enginebench::trtllm
{

struct ExecutorSettings;
struct SamplingSpec;
struct Delivery;
struct IterationSnapshot;

class TrtllmExecutor
{
public:
    explicit TrtllmExecutor(std::unique_ptr<tensorrt_llm::executor::Executor> executor);
    ~TrtllmExecutor();
    TrtllmExecutor(TrtllmExecutor const&) = delete;
    TrtllmExecutor& operator=(TrtllmExecutor const&) = delete;

    bool can_enqueue() const;
    std::uint64_t enqueue(
        rust::Slice<std::uint32_t const> prompt, std::uint32_t max_tokens, bool ignore_eos, SamplingSpec const& sampling) const;
    rust::Vec<Delivery> await_responses(std::uint32_t timeout_ms) const;
    void cancel(std::uint64_t request_id) const;
    rust::Vec<IterationSnapshot> take_iteration_stats() const;
    void shutdown() const;

private:
    std::unique_ptr<tensorrt_llm::executor::Executor> mExecutor;
    mutable std::once_flag mShutdown;
};

void init_plugins();
rust::String library_version();
std::unique_ptr<TrtllmExecutor> new_executor(ExecutorSettings const& settings);

} // namespace enginebench::trtllm
