//! `calibrate-noise`: each level's A/A trials turned into noise thresholds
//! (`NoiseThreshold::calibrate`: half the relative spread of the trials'
//! means, never below 1%), printed and stored with the baseline as
//! `<result-dir>/baselines/<id>/<NAME>/noise.json`.

use std::path::PathBuf;

use super::Reporter;
use crate::baseline::store;
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::metrics::Metric;
use crate::render::table::Table;
use crate::results::noise::{CalibratedMetric, FORMAT};
use crate::results::NoiseFile;
use crate::stats::noise::NoiseThreshold;
use crate::sweep::isolation::TrialIsolation;
use crate::sweep::{LevelResult, Stop};

pub struct NoiseCalibration {
    pub result_dir: PathBuf,
    /// The baseline the thresholds are stored with.
    pub baseline: String,
    pub engine: EngineInfo,
    pub date: String,
    pub isolation: TrialIsolation,
}

impl NoiseCalibration {
    /// Every metric's threshold from a level's trials.
    pub fn file(&self, level: &LevelResult) -> Result<NoiseFile, Error> {
        let why = match &level.stop {
            None => None,
            Some(Stop::Interrupted) => Some("interrupted".to_string()),
            Some(Stop::EngineFailed(message)) => Some(message.clone()),
        };
        if let Some(why) = why {
            return Err(Error::Engine(format!(
                "{}: the calibration stopped early ({why}); nothing was stored",
                level.benchmark
            )));
        }
        let thresholds = Metric::ALL
            .into_iter()
            .filter_map(|metric| {
                let threshold = NoiseThreshold::calibrate(
                    &level.samples.per_trial(metric),
                    NoiseThreshold::DEFAULT_MULTIPLE,
                    NoiseThreshold::DEFAULT_FLOOR,
                )?;
                Some(CalibratedMetric { metric, threshold })
            })
            .collect();
        Ok(NoiseFile {
            format: FORMAT,
            benchmark: level.benchmark.clone(),
            date: self.date.clone(),
            engine: self.engine.clone(),
            trial_isolation: self.isolation.name().into(),
            thresholds,
        })
    }
}

/// `metric | spread of trial means | noise threshold`.
pub fn table(file: &NoiseFile) -> String {
    let header = ["metric", "spread of trial means", "noise threshold"];
    let mut table = Table::new(header.map(String::from).to_vec());
    for c in &file.thresholds {
        table.rows.push(vec![
            c.metric.label(),
            c.relative_spread()
                .map_or("—".into(), |s| format!("{:.2}%", s * 100.0)),
            c.threshold.describe(),
        ]);
    }
    table.text()
}

impl Reporter for NoiseCalibration {
    fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
        let file = self.file(level)?;
        let path = store::save_noise(&self.result_dir, &self.baseline, &file)?;
        crate::commands::print(&format!(
            "Noise calibration of {} ({} A/A trials, trial isolation {})\n{}\n",
            level.benchmark,
            level.trials,
            self.isolation.name(),
            table(&file)
        ));
        crate::process::console::note(&format!("saved {}", path.display()));
        Ok(())
    }
}
