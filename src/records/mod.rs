//! Records: what the driver saw for each request, as raw timestamps.
//!
//! Times are nanoseconds on the driver's monotonic clock since the start of the
//! run (its `t0`). Detailed records go to JSONL as each request completes, so
//! an interrupted or failed run keeps everything it measured.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// `tokens` output tokens arrived together at `t_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub t_ns: u64,
    pub tokens: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not finished yet, or never submitted.
    Pending,
    Completed,
    Failed,
    /// Stopped by an interrupt or a fatal engine error while in flight.
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Index of the request in the workload.
    pub index: u64,
    pub input_tokens: u32,
    pub max_output_tokens: u32,
    /// When the schedule let the request start; latency counts from here.
    pub scheduled_ns: u64,
    /// When the driver handed it to the engine.
    pub submitted_ns: Option<u64>,
    pub deliveries: Vec<Delivery>,
    pub finished_ns: Option<u64>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The engine's own timestamps or counters, where it has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_stats: Option<serde_json::Value>,
    /// Conversations: the session (user) and round (from 0) of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// Prompt tokens an ideal prefix cache would already hold from earlier
    /// requests (for a conversation's later rounds: its whole history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_prefix_tokens: Option<u32>,
}

impl RequestRecord {
    pub fn new(index: u64, input_tokens: u32, max_output_tokens: u32) -> Self {
        Self {
            index,
            input_tokens,
            max_output_tokens,
            scheduled_ns: 0,
            submitted_ns: None,
            deliveries: Vec::with_capacity(max_output_tokens.min(4096) as usize),
            finished_ns: None,
            outcome: Outcome::Pending,
            error: None,
            engine_stats: None,
            user: None,
            round: None,
            reused_prefix_tokens: None,
        }
    }

    pub fn output_tokens(&self) -> u64 {
        self.deliveries.iter().map(|d| u64::from(d.tokens)).sum()
    }

    /// The times in the order the driver takes them: scheduled, submitted,
    /// each delivery, finished; `Err` names the first out of order.
    pub fn check_times(&self) -> Result<(), String> {
        let mut last = ("scheduled_ns", self.scheduled_ns);
        let submitted = self.submitted_ns.map(|t| ("submitted_ns", t));
        let deliveries = self
            .deliveries
            .iter()
            .map(|d| ("a delivery's t_ns", d.t_ns));
        let finished = self.finished_ns.map(|t| ("finished_ns", t));
        for (name, t) in submitted.into_iter().chain(deliveries).chain(finished) {
            if t < last.1 {
                return Err(format!(
                    "request {}: {name} {t} is before {} {}",
                    self.index, last.0, last.1
                ));
            }
            last = (name, t);
        }
        Ok(())
    }

    pub fn is_done(&self) -> bool {
        self.outcome != Outcome::Pending
    }

    pub fn finish(&mut self, t_ns: u64, outcome: Outcome, error: Option<String>) {
        self.finished_ns = Some(t_ns);
        self.outcome = outcome;
        self.error = error;
    }
}

/// Where finished records go as they complete.
pub trait RecordSink {
    fn record(&mut self, record: &RequestRecord) -> std::io::Result<()>;
}

/// Keeps nothing: for runs without `--save-detailed` and for warm-up.
pub struct Discard;

impl RecordSink for Discard {
    fn record(&mut self, _: &RequestRecord) -> std::io::Result<()> {
        Ok(())
    }
}

/// One JSON object per line, flushed per record so a crash loses at most one.
pub struct JsonlWriter {
    out: BufWriter<File>,
}

impl JsonlWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(File::create(path)?),
        })
    }
}

impl RecordSink for JsonlWriter {
    fn record(&mut self, record: &RequestRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Reads records written by [`JsonlWriter`].
/// Each record's times must be in the order the driver takes them: a file
/// edited or corrupted otherwise is refused, naming the line, rather than
/// measured (the metrics subtract these times).
pub fn read_jsonl(path: &Path) -> std::io::Result<Vec<RequestRecord>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .enumerate()
        .map(|(number, line)| {
            let record: RequestRecord = serde_json::from_str(line)
                .map_err(|e| std::io::Error::other(format!("line {}: {e}", number + 1)))?;
            record
                .check_times()
                .map_err(|e| std::io::Error::other(format!("line {}: {e}", number + 1)))?;
            Ok(record)
        })
        .collect()
}

#[cfg(test)]
mod time_order_tests {
    use super::*;

    #[test]
    fn records_read_from_a_file_must_keep_the_driver_s_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut record = RequestRecord::new(3, 4, 2);
        record.scheduled_ns = 10;
        record.submitted_ns = Some(12);
        record.deliveries = vec![
            Delivery {
                t_ns: 20,
                tokens: 1,
            },
            Delivery {
                t_ns: 15,
                tokens: 1,
            },
        ];
        record.finish(30, Outcome::Completed, None);
        let line = serde_json::to_string(&record).unwrap();
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let err = read_jsonl(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 1: request 3: a delivery's t_ns 15 is before"),
            "{err}"
        );
        record.deliveries.swap(0, 1);
        std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(read_jsonl(&path).unwrap().len(), 1);
    }
}
