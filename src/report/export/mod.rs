//! Exports of a sweep: one table row per level, one exporter per file format.
//! Every exporter rewrites its whole file after each level (to a temporary
//! file, then renamed over the old one), so a sweep that fails later keeps the
//! levels it finished and a reader never sees a half-written file.

pub mod csv;
pub mod markdown;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::metrics::RunSummary;
use crate::results::fs::write_atomically;
use crate::schedule::{concurrency_label, RequestRate};

/// One level of a sweep, as the exports show it.
#[derive(Clone, Debug)]
pub struct LevelRow {
    pub engine: String,
    pub model: String,
    pub max_concurrency: Option<usize>,
    pub request_rate: RequestRate,
    /// `ok`, `interrupted` or `engine failed`.
    pub status: &'static str,
    pub summary: RunSummary,
}

/// One column: its header and how a row fills it.
pub struct Column {
    pub header: &'static str,
    pub value: fn(&LevelRow) -> Value,
}

/// A cell before formatting: exporters choose the precision of numbers.
pub enum Value {
    Text(String),
    Count(u64),
    Number(f64),
}

fn latency(s: &crate::stats::Summary, p: f64) -> Value {
    Value::Number(s.percentile(p).unwrap_or(s.max))
}

/// The columns every export has, in order. Latencies in ms, throughputs per s.
pub const COLUMNS: &[Column] = &[
    Column {
        header: "engine",
        value: |r| Value::Text(r.engine.clone()),
    },
    Column {
        header: "model",
        value: |r| Value::Text(r.model.clone()),
    },
    Column {
        header: "max_concurrency",
        value: |r| Value::Text(concurrency_label(r.max_concurrency)),
    },
    Column {
        header: "request_rate",
        value: |r| match r.request_rate {
            RequestRate::Infinite => Value::Text("inf".into()),
            RequestRate::PerSecond(rate) => Value::Number(rate),
        },
    },
    Column {
        header: "status",
        value: |r| Value::Text(r.status.into()),
    },
    Column {
        header: "completed",
        value: |r| Value::Count(r.summary.completed as u64),
    },
    Column {
        header: "failed",
        value: |r| Value::Count((r.summary.failed + r.summary.cancelled) as u64),
    },
    Column {
        header: "duration_s",
        value: |r| Value::Number(r.summary.duration_s),
    },
    Column {
        header: "request_throughput",
        value: |r| Value::Number(r.summary.request_throughput),
    },
    Column {
        header: "output_throughput",
        value: |r| Value::Number(r.summary.output_throughput),
    },
    Column {
        header: "total_token_throughput",
        value: |r| Value::Number(r.summary.total_token_throughput),
    },
    Column {
        header: "mean_ttft_ms",
        value: |r| Value::Number(r.summary.ttft_ms.mean),
    },
    Column {
        header: "p99_ttft_ms",
        value: |r| latency(&r.summary.ttft_ms, 99.0),
    },
    Column {
        header: "mean_tpot_ms",
        value: |r| Value::Number(r.summary.tpot_ms.mean),
    },
    Column {
        header: "p99_tpot_ms",
        value: |r| latency(&r.summary.tpot_ms, 99.0),
    },
    Column {
        header: "mean_itl_ms",
        value: |r| Value::Number(r.summary.itl_ms.mean),
    },
    Column {
        header: "p99_itl_ms",
        value: |r| latency(&r.summary.itl_ms, 99.0),
    },
    Column {
        header: "mean_e2el_ms",
        value: |r| Value::Number(r.summary.e2el_ms.mean),
    },
    Column {
        header: "p99_e2el_ms",
        value: |r| latency(&r.summary.e2el_ms, 99.0),
    },
];

/// A file format for the sweep's table.
pub trait Exporter {
    /// The file's name for a sweep whose files start with `stem`.
    fn file_name(&self, stem: &str) -> String;
    /// Writes the whole table, every level so far.
    fn write(&self, levels: &[LevelRow], out: &mut dyn Write) -> std::io::Result<()>;
}

/// Every exporter there is.
pub fn all() -> Vec<Box<dyn Exporter>> {
    vec![Box::new(csv::Csv), Box::new(markdown::Markdown)]
}

/// Rewrites every export in `dir`; returns the paths written.
pub fn write_all(dir: &Path, stem: &str, levels: &[LevelRow]) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for exporter in all() {
        let path = dir.join(exporter.file_name(stem));
        write_atomically(&path, |out| exporter.write(levels, out))?;
        written.push(path);
    }
    Ok(written)
}
