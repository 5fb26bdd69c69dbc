//! The command line (clap), and its translation into a checked [`Config`].
//! Nothing here runs anything: each `*Args` becomes a clap-free config
//! (`crate::config`) that `commands/` runs. Flags are named like
//! `vllm bench serve`'s where one exists.

mod doctor;
mod files;
pub(crate) use files::check_file_stem;
pub mod number;
mod parse;
mod run;
mod statistics;
mod traffic;

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;
use crate::error::Error;
pub use doctor::DoctorArgs;
pub use files::{EnvArgs, PlotArgs};
pub use parse::{parse_concurrency, parse_goodput, parse_rate};
pub use run::{DatasetName, HttpArgs, IsolationArg, RunArgs, TrialArgs};
pub use statistics::{CheckArgs, CompareArgs, StatisticsArgs};
pub use traffic::TrafficArgs;

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
    #[command(args_override_self = true, allow_negative_numbers = true)]
    Run(Box<RunArgs>),
    /// Compare result files side by side: one table per concurrency level,
    /// with intervals, speedups and verdicts against the first.
    #[command(allow_negative_numbers = true)]
    Compare(CompareArgs),
    /// Regression gate: exit 1 when a watched metric regressed against a
    /// baseline, 0 when none did, 3 when a side had too few trials to judge,
    /// 2 on bad input. JSON summary on stdout.
    #[command(allow_negative_numbers = true)]
    Check(CheckArgs),
    /// Run A/A trials of a benchmark (the flags of run) and store each
    /// level's run-to-run spread as the noise thresholds of baseline NAME
    /// (--baseline NAME), which check then uses for it.
    #[command(args_override_self = true)]
    CalibrateNoise(Box<RunArgs>),
    /// The machine: OS, CPU, memory, GPUs (through the CUDA driver, when there
    /// is one) and engine versions of the Python environment.
    #[command(allow_negative_numbers = true)]
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
    /// The command's config, every flag checked; flags that do nothing for
    /// what was asked (a dataset path with random prompts, `--python` with
    /// the sim) are warned about on stderr.
    pub fn into_config(self) -> Result<Config, Error> {
        let mut warnings = Vec::new();
        let config = match self {
            Command::Run(args) => Config::Run(Box::new(args.into_config(&mut warnings)?)),
            Command::Compare(args) => Config::Compare(args.into_config()?),
            Command::Check(args) => Config::Check(args.into_config(&mut warnings)?),
            Command::CalibrateNoise(args) => {
                Config::CalibrateNoise(Box::new(args.into_calibrate_config(&mut warnings)?))
            }
            Command::Env(args) => Config::Env(args.into_config()),
            Command::Plot(args) => Config::Plot(args.into_config()?),
            Command::Report(args) => Config::Report(args.into_config()?),
            Command::Doctor(args) => Config::Doctor(args.into_config()?),
        };
        for warning in warnings {
            crate::process::console::warn(&warning);
        }
        Ok(config)
    }
}

/// Parses the command line. Help and version end with exit code 0; errors
/// print one line and end with 2.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, u8> {
    try_parse(args).map_err(report)
}

/// Parses the command line; prints nothing (help and version are errors
/// of their own kind, as clap makes them).
pub fn try_parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, clap::Error> {
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Run(run), Some(("run", sub))) = (&mut cli.command, matches.subcommand()) {
        run.given = given_on_the_command_line(sub);
    }
    Ok(cli.command)
}

/// The ids of the flags given on the command line (not defaults).
fn given_on_the_command_line(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.to_string())
        .collect()
}

/// Prints help or version (exit code 0), or the error's first line (2).
fn report(e: clap::Error) -> u8 {
    if !e.use_stderr() {
        let _ = e.print();
        return 0;
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("error: bad arguments");
    crate::process::console::note(&format!("{first} (see --help)"));
    2
}
