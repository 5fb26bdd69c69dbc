//! The subcommands, one file each: `run(&Config) -> Result<(), Error>`.
//! Every non-zero exit carries a one-line message, so a command's outcome is
//! `Ok` or an [`Error`](crate::Error), and `Error::exit_code` is the one map
//! from failures to exit codes.

pub mod check;
pub mod compare;
pub mod doctor;
pub mod env;
pub mod plot;
pub mod report;
pub mod run;

use std::io::Write;

use crate::error::Error;

/// Writes `text` to stdout: a closed stdout (`| head`) is an error, not a panic.
pub(crate) fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}
