//! The errors a command ends with, and their exit codes.

use crate::engine::EngineConfigError;
use crate::workload::WorkloadError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags, files or settings: exit code 2, nothing was measured.
    #[error("{0}")]
    Usage(String),
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
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Interrupted => 130,
            Error::Engine(_) | Error::Regressed(_) | Error::Calibration(_) | Error::Other(_) => 1,
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
