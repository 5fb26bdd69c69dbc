//! The engine environment's Python: which interpreter (`--python`, else the
//! active virtualenv's, decided here for every command) and the versions of
//! the engine packages in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The engine environment's interpreter and package versions (`null`: not installed).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PythonEnvironment {
    pub interpreter: String,
    pub version: String,
    pub packages: BTreeMap<String, Option<String>>,
}

impl PythonEnvironment {
    /// The interpreter's versions, or why there are none: no interpreter
    /// chosen, or it failed to answer.
    pub fn detect(python: Option<&Path>) -> Result<Self, String> {
        let interpreter = interpreter(python).ok_or_else(|| {
            "no Python environment (pass --python PATH or activate a virtualenv)".to_string()
        })?;
        python_versions(&interpreter)
    }
}

/// The engine environment's interpreter: `--python`, else `$VIRTUAL_ENV/bin/python`.
pub fn interpreter(python: Option<&Path>) -> Option<PathBuf> {
    python.map(Path::to_path_buf).or_else(|| {
        let venv = std::env::var_os("VIRTUAL_ENV")?;
        Some(Path::new(&venv).join("bin").join("python"))
    })
}

/// What `versions_probe.py` prints.
#[derive(Deserialize)]
struct ProbeAnswer {
    python: String,
    packages: BTreeMap<String, Option<String>>,
}

/// Runs the interpreter once (a subprocess: the default build embeds no Python).
fn python_versions(interpreter: &Path) -> Result<PythonEnvironment, String> {
    const PROBE: &str = include_str!("../../python/enginebench/versions_probe.py");
    let output = Command::new(interpreter)
        .args(["-c", PROBE])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", interpreter.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed (exit {:?})",
            interpreter.display(),
            output.status.code()
        ));
    }
    let answer: ProbeAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unexpected answer from {}: {e}", interpreter.display()))?;
    Ok(PythonEnvironment {
        interpreter: interpreter.display().to_string(),
        version: answer.python,
        packages: answer.packages,
    })
}
