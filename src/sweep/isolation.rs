//! Keeping trials apart (`--trial-isolation`). Trials are the replicates of
//! every interval and verdict, so what differs between two runs of a real
//! engine should differ between trials too:
//!
//! - `none`: one engine for every trial, its prefix cache reset before each.
//!   Cheapest; samples only what varies inside one engine's life.
//! - `engine`: a fresh engine for each trial, in this process (the previous
//!   one shut down first), warmed up again. Samples the engine's own start
//!   (its allocations, warm state, compiled graphs).
//! - `process`: a fresh enginebench process for each trial, as each CI job
//!   is: process placement, memory layout, the interpreter's and the
//!   engine's start. The first trial runs in this process, which is just as
//!   fresh; each later one re-executes the same command line with hidden
//!   flags that make it a *trial worker*: it runs that one trial and hands
//!   its records back in a file.
//!
//! Each fresh engine is told how many trials came before it
//! (`EngineOptions::first_trial`), so that a simulated engine draws each
//! trial's run-to-run variation once, not the first trial's every time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::driver::{Clock, TrialOutcome};
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::records::{RecordSink, RequestRecord};
use crate::results::fs::{self, Layout};

/// How trials are kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrialIsolation {
    None,
    Engine,
    Process,
}

impl TrialIsolation {
    pub const ALL: [TrialIsolation; 3] = [Self::None, Self::Engine, Self::Process];

    /// As the flag and the result files write it.
    pub fn name(self) -> &'static str {
        match self {
            TrialIsolation::None => "none",
            TrialIsolation::Engine => "engine",
            TrialIsolation::Process => "process",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// How to start this command again: the program as it was called and the
/// flags after its subcommand.
#[derive(Clone, Debug, PartialEq)]
pub struct Relaunch {
    pub program: OsString,
    pub flags: Vec<OsString>,
}

impl Relaunch {
    /// From a whole command line (`enginebench run FLAGS...`).
    pub fn of(argv: &[OsString]) -> Option<Self> {
        let program = argv.first()?.clone();
        Some(Self {
            program,
            flags: argv.iter().skip(2).cloned().collect(),
        })
    }
}

/// Set in a process started for one trial: which trial, and where its
/// records go.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialWorker {
    pub output: PathBuf,
    /// The level's index in `--max-concurrency`.
    pub level: usize,
    /// The trial's index in its level: its schedule seed is `--seed + index`.
    pub index: usize,
    /// Trials of the sweep begun before this one.
    pub ordinal: u64,
}

/// What a trial worker hands back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialFile {
    pub engine: EngineInfo,
    pub records: Vec<RequestRecord>,
    pub interrupted: bool,
    pub fatal_error: Option<String>,
}

impl TrialFile {
    pub fn of(engine: EngineInfo, outcome: TrialOutcome) -> Self {
        Self {
            engine,
            records: outcome.records,
            interrupted: outcome.interrupted,
            fatal_error: outcome.fatal_error,
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fs::save_atomically(path, self, Layout::Compact)
    }
}

/// Runs trial `worker` in a fresh process of this command line, and hands
/// its finished requests to `records` as a trial in this process would. The
/// worker's progress and warnings go to this process's stderr.
pub fn relaunched(
    relaunch: &Relaunch,
    worker: &TrialWorker,
    records: &mut dyn RecordSink,
) -> Result<TrialOutcome, Error> {
    let mut command = Command::new(&relaunch.program);
    command
        .arg("run")
        .args(&relaunch.flags)
        .arg("--trial-worker")
        .arg(&worker.output)
        .args(["--trial-worker-level", &worker.level.to_string()])
        .args(["--trial-worker-index", &worker.index.to_string()])
        .args(["--trial-worker-ordinal", &worker.ordinal.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let program = relaunch.program.to_string_lossy();
    let status = command
        .status()
        .map_err(|e| Error::Engine(format!("cannot start a trial process ({program}): {e}")))?;
    let file: Result<TrialFile, Error> = fs::load(&worker.output, "trial file");
    let _ = std::fs::remove_file(&worker.output);
    let file = match (status.success(), file) {
        (true, Ok(file)) => file,
        (_, Err(e)) if status.success() => return Err(e),
        (_, _) => {
            return Err(Error::Engine(format!(
                "the process of trial {} ({program} run ...) ended with {status}",
                worker.ordinal + 1
            )))
        }
    };
    let mut sink_error = None;
    for record in &file.records {
        if let Err(e) = records.record(record) {
            sink_error.get_or_insert(e.to_string());
        }
    }
    Ok(TrialOutcome {
        records: file.records,
        clock: Clock::start(),
        interrupted: file.interrupted,
        fatal_error: file.fatal_error,
        sink_error,
    })
}

/// Where the worker of trial `ordinal` writes its file: the system's
/// temporary folder, named by this process and the trial.
pub fn worker_file(ordinal: u64) -> PathBuf {
    std::env::temp_dir().join(format!(
        "enginebench-{}-trial{}.json",
        std::process::id(),
        ordinal + 1
    ))
}
