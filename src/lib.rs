//! enginebench: measures LLM inference engines in-process.
//!
//! The pipeline, one direction:
//! `workload -> schedule -> driver <-> engine -> records -> metrics -> stats -> report`.
//! `cli/` turns the command line into a `config::Config`; `commands/` runs it.

pub mod analysis;
pub mod baseline;
pub mod cli;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod driver;
pub mod engine;
pub mod env;
pub mod error;
pub mod metrics;
pub mod process;
pub mod records;
pub mod render;
pub mod reporter;
pub mod results;
pub mod schedule;
pub mod stats;
pub mod sweep;
pub mod workload;

pub use error::Error;

use std::ffi::OsString;

use config::Config;

/// Runs the command line and returns the exit code: 0 success, 1 engine or
/// I/O failure (or a level that failed, or a regression), 2 usage error,
/// 3 `check` had too few trials to judge, 128 + the signal's number when
/// SIGINT, SIGTERM or SIGHUP stopped a run. A closed or full stdout changes
/// none of these.
pub fn run_cli(args: impl IntoIterator<Item = OsString>) -> u8 {
    process::console::init();
    let code = run_command(args);
    process::console::finish();
    code
}

fn run_command(args: impl IntoIterator<Item = OsString>) -> u8 {
    let argv: Vec<OsString> = args.into_iter().collect();
    let command = match cli::parse(argv.iter().cloned()) {
        Ok(command) => command,
        Err(code) => return code,
    };
    let relaunch = sweep::isolation::Relaunch::of(&argv);
    let result = command
        .into_config()
        .and_then(|mut config| match &mut config {
            Config::Run(config) => {
                config.relaunch = relaunch;
                commands::run::run(config)
            }
            Config::CalibrateNoise(config) => {
                config.run.relaunch = relaunch;
                commands::calibrate_noise::run(config)
            }
            Config::Compare(config) => commands::compare::run(config),
            Config::Check(config) => commands::check::run(config),
            Config::Env(config) => commands::env::run(config),
            Config::Plot(config) => commands::plot::run(config),
            Config::Report(config) => commands::report::run(config),
            Config::Doctor(config) => commands::doctor::run(config),
        });
    match result {
        Ok(()) => 0,
        Err(error) => {
            process::console::error(&error.to_string());
            error.exit_code()
        }
    }
}
