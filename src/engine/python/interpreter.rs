//! Which Python the engines run in.
//!
//! Inside the `enginebench` wheel's console script, the CLI already runs in the
//! Python that holds the engine, and nothing needs doing. The standalone binary
//! (feature `embed-python`) starts its own interpreter and then adopts the
//! user's engine environment: `--python PATH`, else the active virtualenv
//! (`VIRTUAL_ENV`). It asks that Python for its `sys.path` and uses it, so
//! imports resolve exactly as in the user's environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::EngineConfigError;

/// `--python PATH`, as given to the first Python engine opened.
static CHOSEN: OnceLock<Option<PathBuf>> = OnceLock::new();
static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes the interpreter ready, once: started, and pointed at the environment
/// of `python` (an interpreter such as `.venv/bin/python`) when given.
pub fn prepare(python: Option<&Path>) -> Result<(), EngineConfigError> {
    let _ = CHOSEN.set(python.map(Path::to_path_buf));
    PREPARED
        .get_or_init(|| start().and_then(|_| adopt_environment()))
        .clone()
        .map_err(EngineConfigError)
}

#[cfg(feature = "embed-python")]
fn start() -> Result<(), String> {
    Python::initialize();
    Ok(())
}

#[cfg(not(feature = "embed-python"))]
fn start() -> Result<(), String> {
    // SAFETY: Py_IsInitialized may be called at any time, with or without the GIL.
    if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 {
        Ok(())
    } else {
        Err(
            "this build has no embedded Python: build with --features embed-python, \
             or use the enginebench console script of the Python wheel"
                .into(),
        )
    }
}

/// The interpreter of the user's environment: `--python`, else `$VIRTUAL_ENV/bin/python`.
fn environment_python() -> Option<PathBuf> {
    let chosen = CHOSEN.get().cloned().flatten();
    chosen.or_else(|| {
        let venv = std::env::var_os("VIRTUAL_ENV")?;
        Some(Path::new(&venv).join("bin").join("python"))
    })
}

fn adopt_environment() -> Result<(), String> {
    if !cfg!(feature = "embed-python") {
        // Already running inside the user's Python (the wheel's console script).
        return match CHOSEN.get().cloned().flatten() {
            Some(python) => Err(format!(
                "--python {} has no effect here: this enginebench already runs inside Python; \
                 run the enginebench installed in that environment instead",
                python.display()
            )),
            None => Ok(()),
        };
    }
    let Some(python) = environment_python() else {
        // No environment chosen: the interpreter this binary was built against.
        return set_argv(option_env!("ENGINEBENCH_BUILD_PYTHON").map(Path::new));
    };
    let facts = ask(&python)?;
    Python::attach(|py| {
        let ours = format!("{}.{}", py.version_info().major, py.version_info().minor);
        if facts.version != ours {
            return Err(format!(
                "{} is Python {}, but this binary embeds Python {ours}: use a {ours} environment",
                python.display(),
                facts.version
            ));
        }
        let sys = py.import("sys").map_err(|e| e.to_string())?;
        let path = PyList::new(py, &facts.path).map_err(|e| e.to_string())?;
        sys.setattr("path", path).map_err(|e| e.to_string())?;
        sys.setattr("prefix", &facts.prefix)
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    set_argv(Some(&python))
}

/// Worker processes (tensor parallelism) are started with `sys.executable`:
/// it must be a real Python, not this binary. Some libraries also read `sys.argv[0]`.
fn set_argv(python: Option<&Path>) -> Result<(), String> {
    Python::attach(|py| -> PyResult<()> {
        let sys = py.import("sys")?;
        sys.setattr("argv", vec!["enginebench"])?;
        if let Some(python) = python {
            sys.setattr("executable", python.display().to_string())?;
            py.import("multiprocessing")?
                .call_method1("set_executable", (python.display().to_string(),))?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

struct EnvironmentFacts {
    version: String,
    prefix: String,
    path: Vec<String>,
}

/// Runs the environment's Python once to learn its version and import path.
fn ask(python: &Path) -> Result<EnvironmentFacts, String> {
    const PROBE: &str = include_str!("../../../python/enginebench/environment_probe.py");
    let output = Command::new(python)
        .args(["-c", PROBE])
        .output()
        .map_err(|e| {
            format!(
                "cannot run the engine environment's Python {}: {e}",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "{} failed to start (exit {:?})",
            python.display(),
            output.status.code()
        ));
    }
    let facts: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unexpected answer from {}: {e}", python.display()))?;
    let text = |key: &str| facts[key].as_str().unwrap_or_default().to_string();
    let path = facts["path"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(EnvironmentFacts {
        version: text("version"),
        prefix: text("prefix"),
        path,
    })
}

/// For error messages: which Python was searched.
pub fn describe_environment(py: Python<'_>) -> String {
    let prefix = py
        .import("sys")
        .and_then(|sys| sys.getattr("prefix"))
        .map(|p| p.to_string())
        .unwrap_or_else(|_| "?".into());
    match environment_python() {
        Some(python) => format!("searched the environment of {}", python.display()),
        None => format!(
            "searched Python at {prefix}; activate the engine's virtualenv or pass --python PATH"
        ),
    }
}
