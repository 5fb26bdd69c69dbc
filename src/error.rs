//! The errors a command ends with, each saying what failed, and their exit
//! codes: 2 when the input was wrong and nothing ran, 1 when something
//! failed along the way (what was measured is kept), 130 on Ctrl-C.

use std::path::PathBuf;

use crate::engine::EngineConfigError;
use crate::workload::WorkloadError;

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
    /// An output file or folder could not be written: exit code 1.
    #[error("cannot write {}: {source}", path.display())]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A chart could not be drawn: exit code 1.
    #[error("cannot draw {}: {reason}", path.display())]
    Plot { path: PathBuf, reason: String },
    /// Standard output went away (a closed pipe): exit code 1.
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
    /// The engine failed during the run; what was measured has been written.
    #[error("{0}")]
    Engine(String),
    /// Ctrl-C; what was measured has been written, marked interrupted.
    #[error("interrupted: partial results were kept")]
    Interrupted,
    /// `check` found a regression: exit code 1, the summary is on stdout.
    #[error("{0}")]
    Regressed(String),
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
            Error::Interrupted => 130,
            Error::Unwritable { .. }
            | Error::Plot { .. }
            | Error::Stdout(_)
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
