//! The subcommands, one file each: `run(&Config) -> Result<(), Error>`.
//! Every non-zero exit carries a one-line message, so a command's outcome is
//! `Ok` or an [`Error`](crate::Error), and `Error::exit_code` is the one map
//! from failures to exit codes.

pub mod calibrate_noise;
pub mod check;
pub mod compare;
pub mod doctor;
pub mod dry_run;
pub mod env;
pub mod plot;
pub mod report;
pub mod run;

pub(crate) use crate::process::console::print;
