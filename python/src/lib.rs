//! `enginebench._native`: the CLI as a Python function, for the wheel's
//! console script. The GIL is released while the CLI runs; engines take it
//! back only inside their calls.

use pyo3::prelude::*;

/// Runs `enginebench` with `argv` (program name first) and returns its exit code.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| enginebench::run_cli(argv.into_iter().map(Into::into)))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(main, module)?)
}
