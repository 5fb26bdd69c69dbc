//! Facts about the machine a result was measured on.

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Environment {
    pub enginebench_version: String,
    pub os: String,
    pub arch: String,
    pub cpu: Option<String>,
    pub logical_cpus: usize,
    pub memory_gib: Option<f64>,
}

impl Environment {
    pub fn detect() -> Self {
        Self {
            enginebench_version: env!("CARGO_PKG_VERSION").into(),
            os: os_name(),
            arch: std::env::consts::ARCH.into(),
            cpu: proc_field("/proc/cpuinfo", "model name"),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: proc_field("/proc/meminfo", "MemTotal")
                .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kib| (kib / (1024.0 * 1024.0) * 10.0).round() / 10.0),
        }
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
