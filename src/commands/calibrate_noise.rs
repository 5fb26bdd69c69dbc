//! `enginebench calibrate-noise`: runs A/A trials of a benchmark, the same
//! flags as `run`, and stores each level's run-to-run spread as the noise
//! thresholds of a baseline, which `check` and `run --baseline` then judge
//! that benchmark with. The trials are isolated as the gate's are, so the
//! spread they measure is the one the gate will see.

use super::run::{check_writable, measure, on_signals};
use crate::config::CalibrateConfig;
use crate::error::Error;
use crate::reporter::noise::NoiseCalibration;
use crate::reporter::progress::ProgressDisplay;
use crate::reporter::terminal::{BlockOptions, Terminal};
use crate::reporter::{Reporter, Reporters};

pub fn run(config: &CalibrateConfig) -> Result<(), Error> {
    let run = &config.run;
    check_writable(&run.output)?;
    on_signals(|stop| {
        measure(run, &[], None, stop, |info, _, date, _| {
            let blocks = BlockOptions {
                metrics: run.percentile_metrics.clone(),
                percentiles: run.metric_percentiles.clone(),
            };
            let calibration = NoiseCalibration {
                result_dir: run.output.result_dir.clone(),
                baseline: config.baseline.clone(),
                engine: info.clone(),
                date: date.to_string(),
                isolation: run.trial_isolation,
            };
            let all: Vec<Box<dyn Reporter>> = vec![
                Box::new(Terminal::new(info.clone(), blocks, run.statistics)),
                Box::new(calibration),
            ];
            Reporters::new(all).with_progress(ProgressDisplay::new(run.output.quiet))
        })
    })
}
