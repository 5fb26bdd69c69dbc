//! Facts about the machine a result was measured on: OS, CPU, memory, GPUs,
//! and the engine versions of the Python environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::gpu::{self, GpuInfo};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Environment {
    pub enginebench_version: String,
    pub os: String,
    pub kernel: Option<String>,
    pub arch: String,
    pub cpu: Option<String>,
    pub logical_cpus: usize,
    pub memory_gib: Option<f64>,
    pub gpus: Vec<GpuInfo>,
    pub cuda_driver_version: Option<String>,
    pub nvidia_driver: Option<String>,
    /// Why `gpus` is empty, when it is.
    pub gpu_note: Option<String>,
    pub python: Option<PythonEnvironment>,
    /// Why `python` is missing, when it is.
    pub python_note: Option<String>,
}

/// The engine environment's interpreter and package versions (`null`: not installed).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PythonEnvironment {
    pub interpreter: String,
    pub version: String,
    pub packages: BTreeMap<String, Option<String>>,
}

impl Environment {
    /// Everything, with the Python environment of `python` (`--python`), else
    /// the active virtualenv's.
    pub fn detect(python: Option<&Path>) -> Self {
        let gpus = gpu::probe();
        let (python, python_note) = match engine_python(python) {
            Some(interpreter) => match python_versions(&interpreter) {
                Ok(found) => (Some(found), None),
                Err(why) => (None, Some(why)),
            },
            None => (
                None,
                Some("no Python environment (pass --python PATH or activate a virtualenv)".into()),
            ),
        };
        Self {
            enginebench_version: env!("CARGO_PKG_VERSION").into(),
            os: os_name(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|k| k.trim().to_string()),
            arch: std::env::consts::ARCH.into(),
            cpu: proc_field("/proc/cpuinfo", "model name"),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: proc_field("/proc/meminfo", "MemTotal")
                .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| (kib / (1024.0 * 1024.0) * 10.0).round() / 10.0),
            gpus: gpus.gpus,
            cuda_driver_version: gpus.cuda_driver_version,
            nvidia_driver: gpus.nvidia_driver,
            gpu_note: gpus.note,
            python,
            python_note,
        }
    }

    /// `enginebench env`'s plain-text form.
    pub fn text(&self) -> String {
        let mut lines = vec![
            format!("enginebench {}", self.enginebench_version),
            format!(
                "OS:      {} ({}, kernel {})",
                self.os,
                self.arch,
                self.kernel.as_deref().unwrap_or("?")
            ),
            format!(
                "CPU:     {} ({} logical CPUs)",
                self.cpu.as_deref().unwrap_or("?"),
                self.logical_cpus
            ),
            format!(
                "Memory:  {}",
                self.memory_gib.map_or("?".into(), |m| format!("{m} GiB"))
            ),
        ];
        for g in &self.gpus {
            let mhz = |v: Option<u32>| v.map_or("?".into(), |v| v.to_string());
            lines.push(format!(
                "GPU {}:   {}, {:.1} GiB, compute capability {}, SM clock {} MHz, memory clock {} MHz",
                g.index,
                g.name,
                g.memory_gib,
                g.compute_capability,
                mhz(g.sm_clock_mhz),
                mhz(g.memory_clock_mhz)
            ));
        }
        if let Some(note) = &self.gpu_note {
            lines.push(format!("GPU:     {note}"));
        }
        if let Some(cuda) = &self.cuda_driver_version {
            lines.push(format!("CUDA:    driver supports CUDA {cuda}"));
        }
        if let Some(driver) = &self.nvidia_driver {
            lines.push(format!("Driver:  {driver}"));
        }
        match (&self.python, &self.python_note) {
            (Some(py), _) => {
                lines.push(format!("Python:  {} ({})", py.version, py.interpreter));
                for (name, version) in &py.packages {
                    let version = version.as_deref().unwrap_or("not installed");
                    lines.push(format!("  {name:<14} {version}"));
                }
            }
            (None, Some(note)) => lines.push(format!("Python:  {note}")),
            (None, None) => {}
        }
        lines.join("\n") + "\n"
    }
}

/// `--python`, else `$VIRTUAL_ENV/bin/python`.
fn engine_python(python: Option<&Path>) -> Option<PathBuf> {
    python.map(Path::to_path_buf).or_else(|| {
        let venv = std::env::var_os("VIRTUAL_ENV")?;
        Some(Path::new(&venv).join("bin").join("python"))
    })
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
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unexpected answer from {}: {e}", interpreter.display()))?;
    let packages = answer["packages"]
        .as_object()
        .map(|p| {
            p.iter()
                .map(|(name, v)| (name.clone(), v.as_str().map(String::from)))
                .collect()
        })
        .unwrap_or_default();
    Ok(PythonEnvironment {
        interpreter: interpreter.display().to_string(),
        version: answer["python"].as_str().unwrap_or("?").to_string(),
        packages,
    })
}

fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    pretty.unwrap_or_else(|| std::env::consts::OS.into())
}

/// The value of the first `key: value` line of a /proc file.
fn proc_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}
