//! The `enginebench` binary. Everything lives in the library, which the
//! Python wheel's console script calls too, so both front doors are one CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(enginebench::run_cli(std::env::args_os()))
}
