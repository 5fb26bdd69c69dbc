//! The errors a command ends with, each saying what failed, and their exit
//! codes: 2 when the input was wrong and nothing ran, 1 when something
//! failed along the way (what was measured is kept), 3 when `check` had too
//! few trials to judge, 128 + the signal's number when a signal stopped a
//! run (130 SIGINT, 143 SIGTERM, 129 SIGHUP).

use std::path::PathBuf;

use crate::engine::EngineConfigError;
use crate::process::signals::StopSignal;
use crate::workload::WorkloadError;

/// Where a file that could not be written where asked went instead.
#[derive(Debug)]
pub enum Fallback {
    /// Nowhere else was tried (inputs, folders, files that are not results).
    None,
    /// Written there instead, whole: nothing is lost.
    KeptAt(PathBuf),
    /// The fallback failed too.
    Failed {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::None => Ok(()),
            Fallback::KeptAt(path) => write!(f, "; kept in {} instead", path.display()),
            Fallback::Failed { path, source } => {
                write!(f, "; nor in {}: {source}", path.display())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or settings: exit code 2, nothing was measured.
    #[error("{0}")]
    Usage(String),
    /// An input file (result, samples, baseline) is missing or unreadable: exit code 2.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An input file is not what it should be: exit code 2.
    #[error("{}: {problem}", path.display())]
    BadFile { path: PathBuf, problem: String },
    /// An output file or folder could not be written: exit code 1. The
    /// reason is the operating system's (`No space left on device`, `Is a
    /// directory`, `File name too long`, ...).
    #[error("cannot write {}: {source}{fallback}", path.display())]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
        fallback: Fallback,
    },
    /// A chart could not be drawn: exit code 1.
    #[error("cannot draw {}: {reason}", path.display())]
    Plot { path: PathBuf, reason: String },
    /// The engine failed during the run; what was measured has been written.
    #[error("{0}")]
    Engine(String),
    /// SIGINT, SIGTERM or SIGHUP stopped the run: exit code 128 + its
    /// number. What was measured has been written, the level it cut short
    /// marked interrupted.
    #[error("interrupted by {signal}: {what}")]
    Interrupted { signal: StopSignal, what: String },
    /// A level measured nothing or failed too many requests (the run fails
    /// closed): exit code 1. Its results were written.
    #[error("{0}")]
    LevelFailed(String),
    /// `check` found a regression: exit code 1, the summary is on stdout.
    #[error("{0}")]
    Regressed(String),
    /// `check` found no regression but had too few trials to judge a
    /// watched metric: exit code 3, neither a pass nor a failure.
    #[error("{0}")]
    InsufficientTrials(String),
    /// `env --calibrate` could not measure the GPU (no driver, no GPU).
    #[error("cannot calibrate: {0}")]
    Calibration(String),
    /// `doctor` found what a run needs missing: exit code 1, the checks are on stdout.
    #[error("{0}")]
    CannotStart(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Unreadable { .. } | Error::BadFile { .. } => 2,
            Error::Interrupted { signal, .. } => signal.exit_code(),
            Error::InsufficientTrials(_) => 3,
            Error::Unwritable { .. }
            | Error::Plot { .. }
            | Error::LevelFailed(_)
            | Error::Engine(_)
            | Error::Regressed(_)
            | Error::Calibration(_)
            | Error::CannotStart(_) => 1,
        }
    }

    /// `path` is not what it should be: `problem` says how.
    pub fn bad_file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// Writing `path` failed with `source`.
    pub fn unwritable(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Unwritable {
            path: path.into(),
            source,
            fallback: Fallback::None,
        }
    }

    /// Reading `path` failed with `source`.
    pub fn unreadable(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Unreadable {
            path: path.into(),
            source,
        }
    }
}

impl From<WorkloadError> for Error {
    fn from(e: WorkloadError) -> Self {
        Error::Usage(e.0)
    }
}

impl From<EngineConfigError> for Error {
    fn from(e: EngineConfigError) -> Self {
        Error::Usage(e.0)
    }
}

/// Shorthand for a usage error.
pub fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}
