//! `enginebench doctor --engine NAME`: one line per check of what a run of
//! the engine needs (the checks themselves are in `crate::doctor`), then
//! whether a run can start: exit 0 when it can, 1 when it cannot.

use super::print;
use crate::config::DoctorConfig;
use crate::doctor::{self, Status};
use crate::error::Error;

pub fn run(config: &DoctorConfig) -> Result<(), Error> {
    let checks = doctor::checks(config)?;
    let mut text: String = checks.iter().map(|check| format!("{check}\n")).collect();
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed == 0 {
        text += &format!("doctor: a run of {} can start\n", config.engine);
    }
    print(&text);
    match failed {
        0 => Ok(()),
        n => Err(Error::CannotStart(format!(
            "doctor: {n} check(s) failed: a run of {} cannot start",
            config.engine
        ))),
    }
}
