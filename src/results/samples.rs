//! The samples file: a level's per-request latencies and throughputs, trial
//! by trial, kept so that intervals can be recomputed and runs compared
//! later. It sits in `samples/<result>.json` beside a result file and as
//! `samples.json` in a baseline folder.
//!
//! Format 2 keeps each trial's latencies apart (trials are the replicates of
//! every comparison); format 1 pooled them, and reads as one trial of
//! latencies beside its per-trial throughputs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fs::{self, Layout};
use crate::baseline::BenchmarkId;
use crate::engine::EngineInfo;
use crate::error::Error;
use crate::metrics::LevelSamples;
use crate::sweep::isolation::{Relaunch, TrialIsolation};

/// Version of the samples format written; [`READS`] are read.
pub const FORMAT: u32 = 2;
/// Formats this version reads; files of another are refused.
pub const READS: [u32; 2] = [1, 2];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFile {
    pub format: u32,
    pub benchmark: BenchmarkId,
    pub date: String,
    /// The engine's description and settings, for whoever reads the folder.
    pub engine: EngineInfo,
    /// How the trials were kept apart (`none`, `engine`, `process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_isolation: Option<String>,
    /// The flags of the `run` that measured it, so that `--rerun-baseline`
    /// can run the same setup again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
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
            trial_isolation: None,
            command: None,
            samples: samples.clone(),
        }
    }

    /// The same, saying how its trials were kept apart.
    pub fn isolated(mut self, isolation: TrialIsolation) -> Self {
        self.trial_isolation = Some(isolation.name().into());
        self
    }

    /// The same, with the flags of the run that measured it.
    pub fn run_with(mut self, relaunch: Option<&Relaunch>) -> Self {
        self.command = relaunch.map(|r| {
            let flags = r.flags.iter().map(|f| f.to_string_lossy().into_owned());
            flags.collect()
        });
        self
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        fs::save_atomically(path, self, Layout::Compact)
    }

    /// Reads a samples file, refusing other formats before their fields.
    pub fn read(path: &Path) -> Result<SampleFile, Error> {
        let value = fs::load_json(path)?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if !format.is_some_and(|f| READS.iter().any(|&r| u64::from(r) == f)) {
            return Err(Error::bad_file(
                path,
                format!(
                    "not a samples file of format 1 or 2 (format: {})",
                    format.map_or("missing".into(), |f| f.to_string())
                ),
            ));
        }
        fs::parse(path, value, "corrupt samples file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LatencySamples, TrialThroughput};

    fn trial(ttft: f64) -> (LatencySamples, TrialThroughput) {
        let latencies = LatencySamples {
            ttft_ms: vec![ttft, ttft + 1.0],
            ..LatencySamples::default()
        };
        let throughput = TrialThroughput {
            duration_s: 1.0,
            completed: 2,
            request_throughput: 2.0,
            output_throughput: 20.0,
            total_token_throughput: 40.0,
        };
        (latencies, throughput)
    }

    /// Format 2 keeps trials apart; a format 1 file (pooled latencies) reads
    /// as one trial of latencies, with its throughputs trial by trial; any
    /// other format is refused by name.
    #[test]
    fn both_formats_read_and_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (latencies, trials) = [trial(1.0), trial(5.0)].into_iter().unzip();
        let samples = LevelSamples { latencies, trials };
        let id = crate::reporter::fixtures::level_result().benchmark;
        let engine = crate::reporter::fixtures::engine();
        let file = SampleFile::new(&id, "20260101-120000", &engine, &samples);
        let path = dir.path().join("samples.json");
        file.write(&path).unwrap();
        let read = SampleFile::read(&path).unwrap();
        assert_eq!((read.format, read.samples.latencies.len()), (2, 2));
        assert_eq!(read, file);

        let mut old = serde_json::to_value(&file).unwrap();
        old["format"] = 1.into();
        old["samples"]["latencies"] = serde_json::to_value(samples.pooled()).unwrap();
        std::fs::write(&path, old.to_string()).unwrap();
        let read = SampleFile::read(&path).unwrap();
        assert_eq!(read.samples.latencies, vec![samples.pooled()]);
        assert_eq!(read.samples.trials.len(), 2);

        old["format"] = 3.into();
        std::fs::write(&path, old.to_string()).unwrap();
        let error = SampleFile::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("not a samples file of format 1 or 2 (format: 3)"),
            "{error}"
        );
    }
}
