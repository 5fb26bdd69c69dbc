//! `trtllm-pytorch`: TensorRT-LLM's Python LLM API with its PyTorch backend,
//! driven from this process (`python/enginebench/drivers/trtllm_pytorch_driver.py`).
//! `--tp` becomes `tensor_parallel_size`; `--engine-arg key=value` sets any
//! other `LLM(...)` argument, except `single_process`, taken here: the LLM API
//! runs its worker in an MPI process of its own even at TP 1 (its default, and
//! ours); `single_process=true` keeps it in this process at TP 1
//! (`TLLM_WORKER_USE_SINGLE_PROCESS=1`). TensorRT-LLM cannot be installed on
//! the machines this project is developed on: this engine is tested against a
//! test double of the LLM API (tests/python_doubles), not against TensorRT-LLM itself.

use super::args::EngineArgs;
use super::python::{DriverArgs, DriverSource, PythonEngine};
use super::{EngineConfigError, EngineOptions};

pub const NAME: &str = "trtllm-pytorch";

const DRIVER: DriverSource = DriverSource {
    engine: NAME,
    module: "enginebench_driver_trtllm_pytorch",
    file_name: "trtllm_pytorch_driver.py",
    code: include_str!("../../python/enginebench/drivers/trtllm_pytorch_driver.py"),
    requires: "tensorrt_llm",
    install_hint:
        "install TensorRT-LLM in the engine's environment (pip install tensorrt-llm from \
                   NVIDIA's package index, or use its container)",
};

pub fn open(options: &EngineOptions) -> Result<PythonEngine, EngineConfigError> {
    let mut args = EngineArgs::new(NAME, &options.args);
    let single_process = args.take_bool("single_process")?.unwrap_or(false);
    if single_process && options.tensor_parallel_size > 1 {
        return Err(EngineConfigError(format!(
            "trtllm-pytorch engine arg single_process=true keeps TensorRT-LLM's worker in this \
             process, which works at --tp 1 only (got --tp {})",
            options.tensor_parallel_size
        )));
    }
    let settings = vec![("single_process", single_process.to_string())];
    let pass_through = args.into_rest();
    PythonEngine::open(
        &DRIVER,
        options,
        DriverArgs {
            pass_through,
            settings,
        },
    )
}
