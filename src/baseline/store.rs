//! Baseline folders: where each benchmark's baselines live, and saving and
//! loading them. Every problem with a file names the file.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::BenchmarkId;
use crate::error::{usage, Error};
use crate::results::fs::{self, Layout};
use crate::results::SampleFile;

/// The subfolder holding the latest run of a benchmark, as criterion's `new`.
pub const LATEST: &str = "new";

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
        return Err(Error::bad_file(
            &path,
            format!("holds samples of {}, not of {id}", file.benchmark),
        ));
    }
    Ok(file)
}

/// Writes `file` as baseline `name`, with the level's statistics beside it
/// (`estimates.json`).
pub fn save_baseline(
    result_dir: &Path,
    name: &str,
    file: &SampleFile,
    statistics: &impl Serialize,
) -> Result<PathBuf, Error> {
    let path = baseline_path(result_dir, &file.benchmark, name);
    file.write(&path)?;
    let estimates = path.with_file_name("estimates.json");
    fs::save_atomically(&estimates, statistics, Layout::Pretty)?;
    Ok(path)
}
