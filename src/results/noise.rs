//! The noise file: a benchmark's noise thresholds calibrated on A/A trials
//! (`enginebench calibrate-noise`), stored with a baseline as `noise.json`
//! beside its `samples.json`. The gate judges each metric of that benchmark
//! against its calibrated threshold unless `--noise-threshold` is given.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fs::{self, Layout};
use crate::baseline::BenchmarkId;
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::metrics::Metric;
use crate::stats::noise::{NoiseSource, NoiseThreshold};

/// Version of the noise format; files of another version are refused.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseFile {
    pub format: u32,
    pub benchmark: BenchmarkId,
    /// When the A/A trials ran, `%Y%m%d-%H%M%S`.
    pub date: String,
    pub engine: EngineInfo,
    /// How the A/A trials were isolated from each other (`--trial-isolation`).
    pub trial_isolation: String,
    pub thresholds: Vec<CalibratedMetric>,
}

/// One metric's calibrated threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibratedMetric {
    pub metric: Metric,
    #[serde(flatten)]
    pub threshold: NoiseThreshold,
}

impl CalibratedMetric {
    /// The relative spread of the trials' means it was calibrated from.
    pub fn relative_spread(&self) -> Option<f64> {
        match self.threshold.source {
            NoiseSource::Calibrated {
                relative_spread, ..
            } => Some(relative_spread),
            NoiseSource::Fixed => None,
        }
    }
}

impl NoiseFile {
    /// Every metric's threshold, as the comparison takes them.
    pub fn by_metric(&self) -> Vec<(Metric, NoiseThreshold)> {
        self.thresholds
            .iter()
            .map(|c| (c.metric, c.threshold))
            .collect()
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fs::save_atomically(path, self, Layout::Pretty)
    }

    /// Reads a noise file, refusing other formats before their fields.
    pub fn read(path: &Path) -> Result<NoiseFile, Error> {
        let value = fs::load_json(path)?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(Error::bad_file(
                path,
                format!(
                    "not a noise file of format {FORMAT} (format: {})",
                    format.map_or("missing".into(), |f| f.to_string())
                ),
            ));
        }
        fs::parse(path, value, "corrupt noise file")
    }
}
