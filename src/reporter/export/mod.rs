//! Exports of a sweep (`--save-result`): one table row per level, one
//! exporter per file format. Every exporter rewrites its whole file after
//! each level (to a temporary file, then renamed over the old one), so a
//! sweep that fails later keeps the levels it finished and a reader never
//! sees a half-written file.

pub mod csv;
pub mod markdown;

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Reporter;
use crate::error::Error;
use crate::metrics::LevelSummary;
use crate::process::console;
use crate::results::fs::{write_file, OutputDir};
use crate::schedule::{concurrency_label, RequestRate};
use crate::sweep::LevelResult;

/// One level of a sweep, as the exports show it.
#[derive(Clone, Debug)]
pub struct LevelRow {
    pub engine: String,
    pub model: String,
    pub max_concurrency: Option<usize>,
    pub request_rate: RequestRate,
    /// `ok`, `interrupted`, `engine failed` or `failed`.
    pub status: &'static str,
    pub summary: LevelSummary,
}

impl LevelRow {
    /// `level` of a sweep of `engine` on `model` at `request_rate`.
    pub fn of(level: &LevelResult, engine: &str, model: &str, request_rate: RequestRate) -> Self {
        Self {
            engine: engine.to_string(),
            model: model.to_string(),
            max_concurrency: level.concurrency(),
            request_rate,
            status: level.status(),
            summary: level.summary.clone(),
        }
    }
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
    /// Undefined (a latency of a level that completed nothing): an empty
    /// CSV cell, "—" in Markdown; never 0.
    Missing,
}

fn latency(s: &crate::stats::Summary, p: f64) -> Value {
    match s.count {
        0 => Value::Missing,
        _ => Value::Number(s.percentile(p).unwrap_or(s.max)),
    }
}

fn mean(s: &crate::stats::Summary) -> Value {
    match s.count {
        0 => Value::Missing,
        _ => Value::Number(s.mean),
    }
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
        value: |r| Value::Count(r.summary.failed as u64),
    },
    Column {
        header: "cancelled",
        value: |r| Value::Count(r.summary.cancelled as u64),
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
        value: |r| mean(&r.summary.ttft_ms),
    },
    Column {
        header: "p99_ttft_ms",
        value: |r| latency(&r.summary.ttft_ms, 99.0),
    },
    Column {
        header: "mean_tpot_ms",
        value: |r| mean(&r.summary.tpot_ms),
    },
    Column {
        header: "p99_tpot_ms",
        value: |r| latency(&r.summary.tpot_ms, 99.0),
    },
    Column {
        header: "mean_itl_ms",
        value: |r| mean(&r.summary.itl_ms),
    },
    Column {
        header: "p99_itl_ms",
        value: |r| latency(&r.summary.itl_ms, 99.0),
    },
    Column {
        header: "mean_e2el_ms",
        value: |r| mean(&r.summary.e2el_ms),
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
        let mut bytes = Vec::new();
        // Into memory first: writing to a Vec fails only when a row cannot
        // be encoded, which is no reason to look for another folder.
        exporter
            .write(levels, &mut bytes)
            .map_err(|e| Error::Engine(format!("cannot encode {}: {e}", path.display())))?;
        write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The exports as a reporter: adds each level's row and rewrites the files.
pub struct Exports {
    out: OutputDir,
    /// The files' names start with this.
    stem: String,
    engine: String,
    model: String,
    request_rate: RequestRate,
    rows: Vec<LevelRow>,
}

impl Exports {
    pub fn new(
        out: OutputDir,
        stem: &str,
        engine: &str,
        model: &str,
        request_rate: RequestRate,
    ) -> Self {
        Self {
            out,
            stem: stem.to_string(),
            engine: engine.to_string(),
            model: model.to_string(),
            request_rate,
            rows: Vec::new(),
        }
    }
}

impl Reporter for Exports {
    fn level_done(&mut self, level: &LevelResult) -> Result<(), Error> {
        let row = LevelRow::of(level, &self.engine, &self.model, self.request_rate);
        self.rows.push(row);
        let written = self
            .out
            .write(|dir| write_all(dir, &self.stem, &self.rows))?;
        if self.rows.len() == 1 {
            for path in written {
                console::note(&format!("exporting to {}", path.display()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixtures::level;
    use crate::sweep::Stop;

    fn rows() -> Vec<LevelRow> {
        let mut failed = level(1, None, 2.0);
        failed.stop = Some(Stop::EngineFailed("gone".into()));
        vec![
            LevelRow::of(
                &level(0, Some(4), 1.0),
                "sim",
                "tiny|model",
                RequestRate::Infinite,
            ),
            LevelRow::of(&failed, "sim", "tiny|model", RequestRate::PerSecond(2.5)),
        ]
    }

    fn written(exporter: &dyn Exporter) -> String {
        let mut out = Vec::new();
        exporter.write(&rows(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_rows_carry_full_precision() {
        assert_eq!(written(&csv::Csv), CSV);
    }

    #[test]
    fn markdown_rows_round_to_two_decimals_and_escape_pipes() {
        assert_eq!(written(&markdown::Markdown), MARKDOWN);
    }

    #[test]
    fn the_reporter_rewrites_both_files_after_each_level() {
        let dir = tempfile::tempdir().unwrap();
        let mut exports = Exports::new(
            OutputDir::new(dir.path(), dir.path().join("fallback")),
            "sweep",
            "sim",
            "tiny|model",
            RequestRate::Infinite,
        );
        exports.level_done(&level(0, Some(4), 1.0)).unwrap();
        let csv_path = dir.path().join("sweep.csv");
        assert_eq!(
            std::fs::read_to_string(&csv_path).unwrap().lines().count(),
            2
        );
        let mut failed = level(1, None, 2.0);
        failed.stop = Some(Stop::EngineFailed("gone".into()));
        exports.level_done(&failed).unwrap();
        let csv = std::fs::read_to_string(&csv_path).unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(csv
            .lines()
            .nth(2)
            .unwrap()
            .contains(",unbounded,inf,engine failed,"));
        let markdown = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
        assert_eq!(markdown.lines().count(), 4, "{markdown}");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["sweep.csv", "sweep.md"],
            "no temporary file is left"
        );
    }

    const CSV: &str = r#"engine,model,max_concurrency,request_rate,status,completed,failed,cancelled,duration_s,request_throughput,output_throughput,total_token_throughput,mean_ttft_ms,p99_ttft_ms,mean_tpot_ms,p99_tpot_ms,mean_itl_ms,p99_itl_ms,mean_e2el_ms,p99_e2el_ms
sim,tiny|model,4,inf,ok,8,0,0,1,8,64,320,1.35,1.693,0.5,0.5,0.5,0.5,4.8500000000000005,5.1930000000000005
sim,tiny|model,unbounded,2.5,engine failed,8,0,0,1,4,32,160,2.7,3.386,1,1,1,1,9.700000000000001,10.386000000000001
"#;

    const MARKDOWN: &str = r#"| engine | model | max_concurrency | request_rate | status | completed | failed | cancelled | duration_s | request_throughput | output_throughput | total_token_throughput | mean_ttft_ms | p99_ttft_ms | mean_tpot_ms | p99_tpot_ms | mean_itl_ms | p99_itl_ms | mean_e2el_ms | p99_e2el_ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| sim | tiny\|model | 4 | inf | ok | 8 | 0 | 0 | 1.00 | 8.00 | 64.00 | 320.00 | 1.35 | 1.69 | 0.50 | 0.50 | 0.50 | 0.50 | 4.85 | 5.19 |
| sim | tiny\|model | unbounded | 2.50 | engine failed | 8 | 0 | 0 | 1.00 | 4.00 | 32.00 | 160.00 | 2.70 | 3.39 | 1.00 | 1.00 | 1.00 | 1.00 | 9.70 | 10.39 |
"#;
}
