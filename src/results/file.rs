//! The one reader of saved results: result files (or folders of them), with
//! the samples behind each and its detailed records. `compare`, `check`,
//! `plot` and `report` all read through here.

use std::path::{Path, PathBuf};

use super::doc::ResultDoc;
use super::fs;
use super::samples::SampleFile;
use crate::baseline::BenchmarkId;
use crate::error::Error;
use crate::metrics::LevelSamples;
use crate::records::{read_jsonl, RequestRecord};

/// A result file with the samples behind it.
#[derive(Clone, Debug)]
pub struct ResultFile {
    pub path: PathBuf,
    pub doc: ResultDoc,
    pub samples: LevelSamples,
}

impl ResultFile {
    /// Reads a result JSON and its samples: its `samples_file`, else its
    /// detailed JSONL records.
    pub fn read(path: &Path) -> Result<ResultFile, Error> {
        let value = fs::load_json(path)?;
        if value.get("benchmark_id").is_none() {
            return Err(Error::bad_file(
                path,
                "not an enginebench result file (no benchmark_id)",
            ));
        }
        let doc: ResultDoc = fs::parse(path, value, "not a result file this version reads")?;
        let samples = samples_of(path, &doc)?;
        Ok(ResultFile {
            path: path.to_path_buf(),
            doc,
            samples,
        })
    }

    pub fn benchmark(&self) -> &BenchmarkId {
        &self.doc.benchmark_id
    }

    /// `sim (simulated), model M` or `vllm 0.32.0, model M`, for table legends.
    pub fn label(&self) -> String {
        let (engine, id) = (&self.doc.engine, &self.doc.benchmark_id);
        match engine.simulated {
            true => format!("{} (simulated), model {}", id.engine, id.model),
            false => format!("{} {}, model {}", id.engine, engine.version, id.model),
        }
    }

    /// The first trial's detailed records, when the level saved them.
    pub fn records(&self) -> Option<Vec<RequestRecord>> {
        let detailed = self.doc.detailed_file.as_deref()?;
        read_detailed(&self.path, detailed).ok()
    }
}

/// Detailed records named in a result file: at the path written there, else
/// under the same name beside the result file (a folder moved elsewhere).
fn read_detailed(result: &Path, detailed: &str) -> std::io::Result<Vec<RequestRecord>> {
    let dir = result.parent().unwrap_or(Path::new("."));
    let beside = dir.join(Path::new(detailed).file_name().unwrap_or_default());
    read_jsonl(Path::new(detailed)).or_else(|_| read_jsonl(&beside))
}

fn samples_of(path: &Path, doc: &ResultDoc) -> Result<LevelSamples, Error> {
    let id = &doc.benchmark_id;
    if let Some(name) = &doc.samples_file {
        let dir = path.parent().unwrap_or(Path::new("."));
        let file = SampleFile::read(&dir.join(name))?;
        if &file.benchmark != id {
            return Err(Error::bad_file(
                path,
                format!("its samples file {name} holds {}, not {id}", file.benchmark),
            ));
        }
        return Ok(file.samples);
    }
    let Some(detailed) = &doc.detailed_file else {
        return Err(Error::bad_file(
            path,
            "carries no per-request samples (no samples_file or detailed_file)",
        ));
    };
    let records = read_detailed(path, detailed).map_err(|e| {
        Error::bad_file(
            path,
            format!("cannot read its detailed records {detailed}: {e}"),
        )
    })?;
    let mut samples = LevelSamples::default();
    samples.add_trial(&records);
    Ok(samples)
}

/// A result file as given, or the result files (`*.json`) in a folder, sorted.
pub fn result_files(input: &Path) -> Result<Vec<PathBuf>, Error> {
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let entries = std::fs::read_dir(input).map_err(|source| Error::Unreadable {
        path: input.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json") && p.is_file());
    files.sort();
    if files.is_empty() {
        return Err(Error::bad_file(input, "holds no result files"));
    }
    Ok(files)
}

/// Every result file of `inputs` (files, or folders of them), read.
pub fn read_all(inputs: &[PathBuf]) -> Result<Vec<ResultFile>, Error> {
    let mut results = Vec::new();
    for input in inputs {
        for path in result_files(input)? {
            results.push(ResultFile::read(&path)?);
        }
    }
    Ok(results)
}
