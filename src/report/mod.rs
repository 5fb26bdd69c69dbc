//! Reports: the terminal blocks, the result JSON, and the machine facts
//! recorded beside every result.

pub mod export;
pub mod progress;
pub mod result_json;
pub mod statistics;
pub mod terminal;

use std::path::{Path, PathBuf};

use crate::error::{usage, Error};

/// A result file as given, or the result files (`*.json`) in a folder, sorted.
pub fn result_files(input: &Path) -> Result<Vec<PathBuf>, Error> {
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let entries = std::fs::read_dir(input)
        .map_err(|e| usage(format!("cannot read {}: {e}", input.display())))?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json") && p.is_file());
    files.sort();
    if files.is_empty() {
        return Err(usage(format!("{}: holds no result files", input.display())));
    }
    Ok(files)
}
