//! `enginebench run`: one engine, one workload, one level after another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::RunConfig;
use crate::error::Error;
use crate::sweep;

pub fn run(config: &RunConfig) -> Result<(), Error> {
    let stop = stop_on_ctrl_c();
    sweep::run(config, &stop)
}

/// A first Ctrl-C stops the run and keeps its results; a second one quits.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}
