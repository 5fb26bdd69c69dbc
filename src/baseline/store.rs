//! Reading and writing samples: the `samples.json` of a baseline folder, the
//! `<result>.samples.json` beside a result file, and result files themselves
//! for `compare` and `check`. Every problem with a file is a usage error that
//! names the file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BenchmarkId;
use crate::error::{usage, Error};
use crate::metrics::LevelSamples;
use crate::records::read_jsonl;

/// Version of the samples format; files of another version are refused.
pub const FORMAT: u32 = 1;
/// The subfolder holding the latest run of a benchmark, as criterion's `new`.
pub const LATEST: &str = "new";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFile {
    pub format: u32,
    pub benchmark: BenchmarkId,
    pub date: String,
    /// The engine's description and settings, for whoever reads the folder.
    pub engine: Value,
    pub samples: LevelSamples,
}

impl SampleFile {
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = serde_json::to_string(self).context("cannot serialize samples")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<SampleFile, Error> {
        let value = read_json(path)?;
        let format = value.get("format").and_then(Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(usage(format!(
                "{}: not a samples file of format {FORMAT} (format: {})",
                path.display(),
                format.map_or("missing".into(), |f| f.to_string())
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| usage(format!("{}: corrupt samples file: {e}", path.display())))
    }
}

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| usage(format!("{}: not JSON: {e}", path.display())))
}

/// Baseline names become folder names: letters, digits, `.`, `_`, `-`.
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    match (ok, name == LATEST) {
        (true, false) => Ok(()),
        (true, true) => Err(usage(format!(
            "baseline name '{LATEST}' is reserved for the latest run"
        ))),
        (false, _) => Err(usage(format!(
            "baseline name '{name}': use letters, digits, '.', '_' and '-'"
        ))),
    }
}

pub fn baselines_dir(result_dir: &Path) -> PathBuf {
    result_dir.join("baselines")
}

/// `<result-dir>/baselines/<id>/<name>/samples.json`.
pub fn baseline_path(result_dir: &Path, id: &BenchmarkId, name: &str) -> PathBuf {
    baselines_dir(result_dir)
        .join(id.folder())
        .join(name)
        .join("samples.json")
}

/// The samples of baseline `name` for `id`, checked to be that benchmark's.
pub fn load_baseline(result_dir: &Path, id: &BenchmarkId, name: &str) -> Result<SampleFile, Error> {
    let path = baseline_path(result_dir, id, name);
    if !path.is_file() {
        return Err(usage(format!(
            "no baseline '{name}' for {id}: {} does not exist (save one with --save-baseline {name})",
            path.display()
        )));
    }
    let file = SampleFile::read(&path)?;
    if &file.benchmark != id {
        return Err(usage(format!(
            "{}: holds samples of {}, not of {id}",
            path.display(),
            file.benchmark
        )));
    }
    Ok(file)
}

/// Writes `file` as baseline `name`, with the level's statistics beside it.
pub fn save_baseline(
    result_dir: &Path,
    name: &str,
    file: &SampleFile,
    statistics: &Value,
) -> anyhow::Result<PathBuf> {
    let path = baseline_path(result_dir, &file.benchmark, name);
    file.write(&path)?;
    let estimates = path.with_file_name("estimates.json");
    let text = serde_json::to_string_pretty(statistics).context("cannot serialize estimates")?;
    std::fs::write(&estimates, text + "\n")
        .with_context(|| format!("cannot write {}", estimates.display()))?;
    Ok(path)
}

/// A result file with the samples behind it.
#[derive(Clone, Debug)]
pub struct ResultFile {
    pub path: PathBuf,
    pub benchmark: BenchmarkId,
    pub max_concurrency: Option<u64>,
    pub json: Value,
    pub samples: LevelSamples,
}

impl ResultFile {
    /// Reads a result JSON and its samples: its `samples_file`, else its
    /// detailed JSONL records.
    pub fn read(path: &Path) -> Result<ResultFile, Error> {
        let json = read_json(path)?;
        let benchmark: BenchmarkId = json
            .get("benchmark_id")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| {
                usage(format!(
                    "{}: not an enginebench result file (no benchmark_id)",
                    path.display()
                ))
            })?;
        let samples = samples_of(path, &json, &benchmark)?;
        Ok(ResultFile {
            path: path.to_path_buf(),
            max_concurrency: json.get("max_concurrency").and_then(Value::as_u64),
            benchmark,
            json,
            samples,
        })
    }

    /// `sim (model)` or the engine and its version, for table legends.
    pub fn label(&self) -> String {
        let engine = &self.json["engine"];
        let version = engine["version"].as_str().unwrap_or("");
        let simulated = engine["simulated"].as_bool().unwrap_or(false);
        let name = &self.benchmark.engine;
        match simulated {
            true => format!("{name} (simulated), model {}", self.benchmark.model),
            false => format!("{name} {version}, model {}", self.benchmark.model),
        }
    }
}

fn samples_of(path: &Path, json: &Value, id: &BenchmarkId) -> Result<LevelSamples, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Some(name) = json.get("samples_file").and_then(Value::as_str) {
        let file = SampleFile::read(&dir.join(name))?;
        if &file.benchmark != id {
            return Err(usage(format!(
                "{}: its samples file {name} holds {}, not {id}",
                path.display(),
                file.benchmark
            )));
        }
        return Ok(file.samples);
    }
    let detailed = json.get("detailed_file").and_then(Value::as_str);
    let Some(detailed) = detailed else {
        return Err(usage(format!(
            "{}: carries no per-request samples (no samples_file or detailed_file)",
            path.display()
        )));
    };
    let records = read_jsonl(Path::new(detailed))
        .or_else(|_| read_jsonl(&dir.join(Path::new(detailed).file_name().unwrap_or_default())))
        .map_err(|e| {
            usage(format!(
                "{}: cannot read its detailed records {detailed}: {e}",
                path.display()
            ))
        })?;
    let mut samples = LevelSamples::default();
    samples.add_trial(&records);
    Ok(samples)
}
