//! Facts about the machine: OS, CPU, memory, GPUs, the engine versions of the
//! Python environment (recorded beside every result and printed by `env`),
//! and the GPU calibration of `env --calibrate`.

pub mod calibration;
pub mod gpu;
pub mod python;

use std::path::Path;

use serde::{Deserialize, Serialize};

use gpu::GpuInfo;
use python::PythonEnvironment;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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

impl Environment {
    /// Everything, with the Python environment of `python` (`--python`), else
    /// the active virtualenv's.
    pub fn detect(python: Option<&Path>) -> Self {
        let gpus = gpu::probe();
        let (python, python_note) = match PythonEnvironment::detect(python) {
            Ok(found) => (Some(found), None),
            Err(why) => (None, Some(why)),
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
