//! The command line (clap), and its translation into a checked [`Config`].
//! Nothing here runs anything: each `*Args` becomes a clap-free config
//! (`crate::config`) that `commands/` runs. Flags are named like
//! `vllm bench serve`'s where one exists.

mod doctor;
mod files;
mod parse;
mod run;
mod statistics;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::Error;
pub use doctor::DoctorArgs;
pub use files::{EnvArgs, PlotArgs};
pub use parse::{parse_concurrency, parse_goodput, parse_rate};
pub use run::{DatasetName, HttpArgs, RunArgs, TrialArgs};
pub use statistics::{CheckArgs, CompareArgs, StatisticsArgs};

#[derive(Parser, Debug)]
#[command(
    name = "enginebench",
    version,
    about = "Measures LLM inference engines in-process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Benchmark one engine over one or more concurrency levels.
    #[command(args_override_self = true)]
    Run(Box<RunArgs>),
    /// Compare result files side by side: one table per concurrency level,
    /// with intervals, speedups and verdicts against the first.
    Compare(CompareArgs),
    /// Regression gate: exit 1 when a watched metric regressed against a
    /// baseline, 0 when none did, 2 on bad input. JSON summary on stdout.
    Check(CheckArgs),
    /// The machine: OS, CPU, memory, GPUs (through the CUDA driver, when there
    /// is one) and engine versions of the Python environment.
    Env(EnvArgs),
    /// Plots of result files: each metric against concurrency with a line
    /// per sweep, latency CDFs, a timeline of one run.
    Plot(PlotArgs),
    /// One self-contained HTML page of result files: tables, plots, engine,
    /// environment, speed of light and verdicts against a baseline.
    Report(PlotArgs),
    /// Before a long run: checks everything a run of one engine needs
    /// (package and version, libraries, engine directory, MPI, GPUs), one line
    /// per check; exit 1 when a run cannot start.
    Doctor(DoctorArgs),
}

impl Command {
    /// The command's config, every flag checked.
    pub fn into_config(self) -> Result<Config, Error> {
        Ok(match self {
            Command::Run(args) => Config::Run(Box::new(args.into_config()?)),
            Command::Compare(args) => Config::Compare(args.into_config()?),
            Command::Check(args) => Config::Check(args.into_config()?),
            Command::Env(args) => Config::Env(args.into_config()),
            Command::Plot(args) => Config::Plot(args.into_config()),
            Command::Report(args) => Config::Report(args.into_config()),
            Command::Doctor(args) => Config::Doctor(args.into_config()?),
        })
    }
}

/// Parses the command line. Help and version end with exit code 0; errors
/// print one line and end with 2.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, u8> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli.command),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(0)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{first} (see --help)");
            Err(2)
        }
    }
}
