//! enginebench: measures LLM inference engines in-process.
//!
//! The pipeline, one direction:
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats -> report`.

pub mod analysis;
pub mod baseline;
pub mod cli;
pub mod doctor;
pub mod driver;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod records;
pub mod report;
pub mod schedule;
pub mod stats;
pub mod sweep;
pub mod workload;

pub use error::Error;

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Runs the command line and returns the exit code: 0 success, 1 engine or
/// I/O failure, 2 usage error, 130 interrupted.
pub fn run_cli(args: impl IntoIterator<Item = OsString>) -> u8 {
    let command = match cli::parse(args) {
        Ok(command) => command,
        Err(code) => return code,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A first Ctrl-C stops the run and keeps its results; a second one quits.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let result = match command {
        cli::Command::Run(args) => args
            .into_config()
            .and_then(|config| sweep::run(&config, &stop)),
        cli::Command::Compare(args) => args
            .into_config()
            .and_then(|config| report::compare::run(&config)),
        cli::Command::Check(args) => args
            .into_config()
            .and_then(|config| baseline::check::run(&config)),
        cli::Command::Env(args) => report::env_command::run(&args.into_config()),
        cli::Command::Plot(args) => report::report_command::plot(&args.into_config()),
        cli::Command::Report(args) => report::report_command::html(&args.into_config()),
        cli::Command::Doctor(args) => args
            .into_config()
            .and_then(|config| doctor::run(&config))
            .and_then(doctor::Verdict::into_result),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}
