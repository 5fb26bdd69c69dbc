//! `trtllm`: TensorRT-LLM's C++ executor driving a prebuilt TensorRT engine,
//! through `cxx` (`bridge.rs` and `cpp/trtllm_bridge.{h,cc}`).
//!
//! The executor is `enqueueRequest` + `awaitResponses(timeout)`. A dedicated
//! thread loops on `awaitResponses` and forwards what arrives through a channel;
//! `poll` drains that channel, so the driver timestamps deliveries the moment it
//! sees them. The same thread gathers the executor's iteration statistics.
//!
//! Tensor parallelism: in leader mode (`mpirun -n N enginebench ...`) every rank
//! builds the executor; only the rank that may enqueue goes on to measure, the
//! others serve until the leader shuts down and then exit quietly. In
//! orchestrator mode (`--engine-arg worker_path=.../executorWorker`) one process
//! builds the executor and the library spawns the workers.
//!
//! Built with the `trtllm-test-double` feature the same code runs against the
//! test double in `tests/trtllm_double`, which reports the version `test-double`;
//! results then say `simulated`.
//!
//! Without the `trtllm` feature only the pure parts are built (settings, the
//! engine directory's layout, end tokens, supported versions): `doctor` reads
//! an install with them before anything is compiled against it.

#[cfg(feature = "trtllm")]
mod bridge;
mod config;
#[cfg(feature = "trtllm")]
mod engine;
pub mod version;

pub use config::{EndTokens, EngineLayout, MpiWorld, TrtllmConfig};
#[cfg(feature = "trtllm")]
pub use engine::{TrtllmEngine, TEST_DOUBLE_VERSION};

pub const NAME: &str = "trtllm";
