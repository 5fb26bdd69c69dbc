//! Reports: the terminal blocks, the result JSON, and the machine facts
//! recorded beside every result.

pub mod export;
pub mod html;
pub mod plot;
pub mod progress;
pub mod result_json;
pub mod speed_of_light;
pub mod statistics;
pub mod table;
pub mod terminal;

use std::path::{Path, PathBuf};

use crate::error::{usage, Error};
pub use crate::metrics::LatencyMetric;

/// `99` -> "99", `99.9` -> "99.9", as vLLM names its `pNN_` keys.
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as u64)
    } else {
        format!("{p}")
    }
}

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
