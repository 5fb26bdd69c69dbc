//! `hf`: HF transformers' continuous batching in this process, on CPU or CUDA
//! (`python/enginebench/drivers/hf_driver.py`). Settings: `device`, `dtype`,
//! `attn_implementation`, and the paged cache's `num_blocks`, `page_size`,
//! `max_batch_tokens`, ... as `--engine-arg`. Greedy decoding only.
//!
//! `--tp` above 1 is refused: transformers shards a model only under torchrun
//! with a TP plan, one process per rank, which an in-process driver cannot start.

use super::python::{DriverArgs, DriverSource, PythonEngine};
use super::{EngineConfigError, EngineOptions};

pub const NAME: &str = "hf";

const DRIVER: DriverSource = DriverSource {
    engine: NAME,
    module: "enginebench_driver_hf",
    file_name: "hf_driver.py",
    code: include_str!("../../python/enginebench/drivers/hf_driver.py"),
    requires: "transformers",
    install_hint: "install transformers (5.x, with torch) in the engine's environment",
};

pub fn open(options: &EngineOptions) -> Result<PythonEngine, EngineConfigError> {
    if options.tensor_parallel_size > 1 {
        return Err(EngineConfigError(
            "the hf engine runs in one process: --tp above 1 needs torchrun with a TP plan, \
             which it does not start (use --tp 1, or the vllm engine for tensor parallelism)"
                .into(),
        ));
    }
    // The driver checks its keys itself: they follow the installed transformers.
    let pass_through = options.args.clone();
    PythonEngine::open(
        &DRIVER,
        options,
        DriverArgs {
            pass_through,
            settings: Vec::new(),
        },
    )
}
