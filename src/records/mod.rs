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
pub fn read_jsonl(path: &Path) -> std::io::Result<Vec<RequestRecord>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|line| serde_json::from_str(line).map_err(std::io::Error::other))
        .collect()
}
