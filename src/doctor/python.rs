//! The Python engines' checks, asked of their environment's interpreter: each
//! driver's `preflight` (python/enginebench/drivers/*.py) knows its engine's
//! versions and rules, and runs without starting the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::{Check, Status};
use crate::config::DoctorConfig;

const PROBE: &str = include_str!("../../python/enginebench/doctor_probe.py");
const COMMON: &str = include_str!("../../python/enginebench/drivers/common.py");

/// The driver of each Python engine: its module name and source, and the
/// engine args this crate takes itself (see src/engine/{vllm,trtllm_pytorch}.rs),
/// which reach the driver as settings.
fn driver(engine: &str) -> (&'static str, &'static str, &'static [&'static str]) {
    match engine {
        "vllm" => (
            "enginebench_driver_vllm",
            include_str!("../../python/enginebench/drivers/vllm_driver.py"),
            &["engine_core"],
        ),
        "hf" => (
            "enginebench_driver_hf",
            include_str!("../../python/enginebench/drivers/hf_driver.py"),
            &[],
        ),
        _ => (
            "enginebench_driver_trtllm_pytorch",
            include_str!("../../python/enginebench/drivers/trtllm_pytorch_driver.py"),
            &["single_process"],
        ),
    }
}

/// The engine environment's interpreter: `--python`, else the active
/// virtualenv's, else the one this binary was built against, else `python3`.
pub(super) fn interpreter(chosen: Option<&Path>) -> PathBuf {
    chosen
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("VIRTUAL_ENV").map(|v| Path::new(&v).join("bin/python")))
        .or_else(|| option_env!("ENGINEBENCH_BUILD_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// What the interpreter answers to `request` (see doctor_probe.py).
pub(super) fn probe(python: &Path, request: &Value) -> Result<Value, String> {
    let mut child = Command::new(python)
        .args(["-c", PROBE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let answer = text.lines().rev().find(|l| l.starts_with('{'));
    match (output.status.success(), answer) {
        (true, Some(line)) => {
            serde_json::from_str(line).map_err(|e| format!("{}: {e}", python.display()))
        }
        _ => {
            let err = String::from_utf8_lossy(&output.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            Err(format!("{} failed: {}", python.display(), last.trim()))
        }
    }
}

/// A binary that embeds Python must embed the environment's minor version.
fn embedded_matches(environment: &str) -> Option<Check> {
    let built = option_env!("ENGINEBENCH_BUILD_PYTHON")?;
    let answer = probe(Path::new(built), &json!({})).ok()?;
    let embedded = answer["python"].as_str()?;
    let minor = |v: &str| v.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    Some(if minor(embedded) == minor(environment) {
        Check::new(
            Status::Ok,
            "embedded python",
            format!("this binary embeds Python {}", minor(embedded)),
        )
    } else {
        Check::new(
            Status::Fail,
            "embedded python",
            format!(
                "this binary embeds Python {}, the environment is {}: use a {} environment",
                minor(embedded),
                minor(environment),
                minor(embedded)
            ),
        )
    })
}

pub(super) fn checks(config: &DoctorConfig) -> Vec<Check> {
    let python = interpreter(config.python.as_deref());
    let (module, source, taken) = driver(&config.engine);
    let mut args = serde_json::Map::new();
    let mut settings = serde_json::Map::new();
    for (key, value) in &config.engine_args {
        let value = match key.as_str() {
            // As the engine's own EngineArgs reads a boolean.
            "single_process" => json!(["true", "1", "yes", "on"]
                .contains(&value.to_ascii_lowercase().as_str())
                .to_string()),
            _ => json!(value),
        };
        let into = if taken.contains(&key.as_str()) {
            &mut settings
        } else {
            &mut args
        };
        into.insert(key.clone(), value);
    }
    let request = json!({
        "common": COMMON,
        "module": module,
        "driver": source,
        "model": config.model.as_ref().map(|m| m.display().to_string()),
        "tp": config.tensor_parallel_size,
        "args": args,
        "settings": settings,
        "ignore_eos": config.ignore_eos,
    });
    let answer = match probe(&python, &request) {
        Ok(answer) => answer,
        Err(why) => {
            return vec![Check::new(
                Status::Fail,
                "python",
                format!("{why}: pass --python PATH/TO/python of the engine's environment"),
            )]
        }
    };
    let version = answer["python"].as_str().unwrap_or("?");
    let mut out = vec![Check::new(
        Status::Ok,
        "python",
        format!(
            "{} (Python {version})",
            answer["executable"].as_str().unwrap_or("?")
        ),
    )];
    out.extend(embedded_matches(version));
    for check in answer["checks"].as_array().into_iter().flatten() {
        let status = match check[0].as_str() {
            Some("ok") => Status::Ok,
            Some("warn") => Status::Warn,
            _ => Status::Fail,
        };
        let text = |i: usize| check[i].as_str().unwrap_or_default().to_string();
        out.push(Check::new(status, text(1), text(2)));
    }
    out
}
