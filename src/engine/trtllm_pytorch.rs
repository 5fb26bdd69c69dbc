//! `trtllm-pytorch`: TensorRT-LLM's Python LLM API with its PyTorch backend, in
//! this process (`python/enginebench/drivers/trtllm_pytorch_driver.py`).
//! `--tp` becomes `tensor_parallel_size`; `--engine-arg key=value` sets any
//! other `LLM(...)` argument. TensorRT-LLM cannot be installed on the machines
//! this project is developed on: this engine is tested against a test double
//! of the LLM API (tests/python_doubles), not against TensorRT-LLM itself.

use super::python::{DriverSource, PythonEngine};
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
    PythonEngine::open(&DRIVER, options)
}
