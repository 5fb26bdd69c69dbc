//! The samples file: a level's per-request latencies and per-trial
//! throughputs, kept so that intervals can be recomputed and runs compared
//! later. It sits in `samples/<result>.json` beside a result file and as
//! `samples.json` in a baseline folder.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fs::{self, Layout};
use crate::baseline::BenchmarkId;
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::metrics::LevelSamples;

/// Version of the samples format; files of another version are refused.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFile {
    pub format: u32,
    pub benchmark: BenchmarkId,
    pub date: String,
    /// The engine's description and settings, for whoever reads the folder.
    pub engine: EngineInfo,
    pub samples: LevelSamples,
}

impl SampleFile {
    pub fn new(
        benchmark: &BenchmarkId,
        date: &str,
        engine: &EngineInfo,
        samples: &LevelSamples,
    ) -> Self {
        Self {
            format: FORMAT,
            benchmark: benchmark.clone(),
            date: date.to_string(),
            engine: engine.clone(),
            samples: samples.clone(),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fs::save_atomically(path, self, Layout::Compact)
    }

    /// Reads a samples file, refusing other formats before their fields.
    pub fn read(path: &Path) -> Result<SampleFile, Error> {
        let value = fs::load_json(path)?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(Error::bad_file(
                path,
                format!(
                    "not a samples file of format {FORMAT} (format: {})",
                    format.map_or("missing".into(), |f| f.to_string())
                ),
            ));
        }
        fs::parse(path, value, "corrupt samples file")
    }
}
