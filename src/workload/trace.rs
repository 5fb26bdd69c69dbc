//! Trace replay in the Mooncake format (kvcache-ai/Mooncake, `FAST25-release`):
//! JSONL, one request per line,
//!
//! ```json
//! {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 2353]}
//! ```
//!
//! `timestamp` is the arrival in milliseconds; `hash_ids` name the prompt's
//! blocks of `block_size` tokens (512 in Mooncake's traces), the last one
//! partial, and equal ids stand for equal prefixes. So `hash_ids` must hold
//! exactly `ceil(input_length / block_size)` ids (every row of Mooncake's
//! released traces does; GuideLLM and AIPerf check the same), and a wrong
//! `--trace-block-size` shows as a count that does not match.
//!
//! Each hash id becomes one block of seeded random ids (the same id, the same
//! tokens, in every row and every run with that seed; a partial last block
//! is the start of its id's block), so equal hash ids give identical token
//! blocks and an engine's prefix cache sees the reuse the trace recorded.
//! Arrivals are the timestamps relative to the first row's, times
//! `time_scale` (`--trace-time-scale 0.5` replays twice as fast). Rows keep
//! file order; `--num-prompts` replays the first N of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::prompts_file::read_input;
use super::{WorkItem, Workload, WorkloadError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceSpec {
    pub path: PathBuf,
    /// Tokens per hash id (`--trace-block-size`).
    pub block_size: u32,
    /// Multiplies the gaps between timestamps (`--trace-time-scale`).
    pub time_scale: f64,
    pub vocab_lo: u32,
    pub vocab_hi: u32,
}

/// One row, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    pub timestamp_ms: f64,
    pub input_length: u32,
    pub output_length: u32,
    pub hash_ids: Vec<u64>,
}

/// Reads and checks every row of the trace; errors name the file and line.
pub fn read_rows(path: &Path, block_size: u32) -> Result<Vec<TraceRow>, WorkloadError> {
    let text = read_input(path, "trace")?;
    let mut rows: Vec<TraceRow> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("trace {}:{}", path.display(), number + 1);
        let row = parse_row(line, block_size).map_err(|e| WorkloadError(format!("{at}: {e}")))?;
        if let Some(previous) = rows.last() {
            if row.timestamp_ms < previous.timestamp_ms {
                return Err(WorkloadError(format!(
                    "{at}: timestamp {} is before the previous row's {} (rows must be sorted by \
                     timestamp)",
                    row.timestamp_ms, previous.timestamp_ms
                )));
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(WorkloadError(format!(
            "trace {} holds no requests",
            path.display()
        )));
    }
    Ok(rows)
}

fn parse_row(line: &str, block_size: u32) -> Result<TraceRow, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| {
        value
            .get(name)
            .ok_or_else(|| format!("missing field \"{name}\" (a Mooncake row has timestamp, input_length, output_length, hash_ids)"))
    };
    let count = |name: &str| -> Result<u32, String> {
        let v = field(name)?;
        v.as_u64()
            .filter(|&n| (1..=u64::from(u32::MAX)).contains(&n))
            .map(|n| n as u32)
            .ok_or_else(|| format!("\"{name}\" must be a positive integer, not {v}"))
    };
    let stamp = field("timestamp")?;
    let timestamp_ms = stamp
        .as_f64()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| {
            format!("\"timestamp\" must be a number of milliseconds >= 0, not {stamp}")
        })?;
    let input_length = count("input_length")?;
    let output_length = count("output_length")?;
    let ids = field("hash_ids")?;
    let hash_ids = ids
        .as_array()
        .ok_or_else(|| format!("\"hash_ids\" must be a list of integers, not {ids}"))?
        .iter()
        .map(|id| {
            id.as_u64()
                .ok_or_else(|| format!("hash id {id} is not an integer >= 0"))
        })
        .collect::<Result<Vec<u64>, String>>()?;
    let expected = input_length.div_ceil(block_size) as usize;
    if hash_ids.len() != expected {
        return Err(format!(
            "{} hash ids for input_length {input_length}, but blocks of {block_size} tokens need \
             {expected} (is --trace-block-size right? Mooncake's traces use 512)",
            hash_ids.len()
        ));
    }
    Ok(TraceRow {
        timestamp_ms,
        input_length,
        output_length,
        hash_ids,
    })
}

/// The first `count` rows as requests, with their arrivals and prefix reuse.
pub fn load(spec: &TraceSpec, count: usize, seed: u64) -> Result<Workload, WorkloadError> {
    let rows = read_rows(&spec.path, spec.block_size)?;
    let rows = &rows[..count.min(rows.len())];
    let first = rows[0].timestamp_ms;
    let mut blocks = Blocks::new(spec, seed);
    // How many leading tokens of each hash id's block earlier rows held: a
    // partial last block is cached only as far as it went.
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut workload = Workload {
        arrivals: Some(Vec::with_capacity(rows.len())),
        ..Workload::default()
    };
    for row in rows {
        let mut ids = Vec::with_capacity(row.input_length as usize);
        let mut left = row.input_length as usize;
        let (mut reused, mut reusing) = (0, true);
        for &hash in &row.hash_ids {
            let block = blocks.get(hash);
            let take = left.min(block.len());
            ids.extend_from_slice(&block[..take]);
            left -= take;
            let held = seen.entry(hash).or_insert(0);
            if reusing {
                reused += take.min(*held);
                reusing = *held >= take;
            }
            *held = (*held).max(take);
        }
        let offset_ms = (row.timestamp_ms - first) * spec.time_scale;
        let arrivals = workload.arrivals.as_mut().expect("set above");
        arrivals.push(Duration::from_secs_f64(offset_ms / 1e3));
        workload.items.push(WorkItem::new(ids, row.output_length));
        workload.reused_prefix.push(reused as u32);
    }
    Ok(workload)
}

/// The token block of each hash id, made once.
struct Blocks {
    size: usize,
    vocab: (u32, u32),
    seed: u64,
    made: HashMap<u64, Arc<[u32]>>,
}

impl Blocks {
    fn new(spec: &TraceSpec, seed: u64) -> Self {
        Self {
            size: spec.block_size as usize,
            vocab: (spec.vocab_lo, spec.vocab_hi),
            seed,
            made: HashMap::new(),
        }
    }

    fn get(&mut self, hash: u64) -> Arc<[u32]> {
        let (size, (lo, hi), seed) = (self.size, self.vocab, self.seed);
        self.made
            .entry(hash)
            .or_insert_with(|| {
                // One stream per id: the block depends on the id and the seed alone.
                let mut rng =
                    ChaCha8Rng::seed_from_u64(seed ^ hash.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                (0..size).map(|_| rng.random_range(lo..hi)).collect()
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn spec(path: &Path, block_size: u32, time_scale: f64) -> TraceSpec {
        TraceSpec {
            path: path.to_path_buf(),
            block_size,
            time_scale,
            vocab_lo: 0,
            vocab_hi: 30_000,
        }
    }

    const TRACE: &str = "\
{\"timestamp\": 1000, \"input_length\": 10, \"output_length\": 3, \"hash_ids\": [0, 1, 2]}
{\"timestamp\": 1500, \"input_length\": 12, \"output_length\": 5, \"hash_ids\": [0, 1, 7]}

{\"timestamp\": 1500, \"input_length\": 4, \"output_length\": 1, \"hash_ids\": [9], \"extra\": 1}
{\"timestamp\": 3000.5, \"input_length\": 9, \"output_length\": 2, \"hash_ids\": [0, 1, 2]}
";

    #[test]
    fn equal_hash_ids_give_equal_blocks_and_arrivals_follow_the_timestamps() {
        let f = file(TRACE);
        let w = load(&spec(f.path(), 4, 1.0), 100, 7).unwrap();
        assert_eq!(w.len(), 4);
        let lens: Vec<u32> = w.items.iter().map(WorkItem::input_len).collect();
        assert_eq!(lens, [10, 12, 4, 9]);
        let outs: Vec<u32> = w.items.iter().map(|i| i.max_output_tokens).collect();
        assert_eq!(outs, [3, 5, 1, 2]);
        let ids = |i: usize| &w.items[i].prompt_token_ids;
        assert_eq!(ids(0)[..8], ids(1)[..8], "blocks 0 and 1 shared");
        assert_ne!(ids(0)[8..10], ids(1)[8..10], "block 2 is not block 7");
        assert_eq!(
            ids(3)[..],
            ids(0)[..9],
            "a partial last block is its block's start"
        );
        let ms: Vec<f64> = w
            .arrivals
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| (a.as_secs_f64() * 1e6).round() / 1e3)
            .collect();
        assert_eq!(ms, [0.0, 500.0, 500.0, 2000.5]);
        assert_eq!(w.reused_prefix, [0, 8, 0, 9], "leading blocks seen before");
        assert_eq!(w, load(&spec(f.path(), 4, 1.0), 100, 7).unwrap());
        assert_ne!(
            w.items,
            load(&spec(f.path(), 4, 1.0), 100, 8).unwrap().items
        );
    }

    /// Reuse counts the leading tokens earlier rows held: a block first seen
    /// as a partial last block is held only as far as it went.
    #[test]
    fn reuse_counts_the_tokens_of_leading_blocks_seen_before() {
        let f = file(
            "\
{\"timestamp\": 0, \"input_length\": 6, \"output_length\": 1, \"hash_ids\": [0, 1]}
{\"timestamp\": 1, \"input_length\": 8, \"output_length\": 1, \"hash_ids\": [0, 1]}
{\"timestamp\": 2, \"input_length\": 12, \"output_length\": 1, \"hash_ids\": [0, 1, 5]}
{\"timestamp\": 3, \"input_length\": 12, \"output_length\": 1, \"hash_ids\": [3, 1, 5]}
",
        );
        let w = load(&spec(f.path(), 4, 1.0), 100, 7).unwrap();
        // Row 2 holds 2 of block 1's 4 tokens; row 3 all of them, not block 5.
        assert_eq!(w.reused_prefix, [0, 6, 8, 0]);
    }

    #[test]
    fn time_scale_stretches_the_gaps_and_count_takes_the_first_rows() {
        let f = file(TRACE);
        let w = load(&spec(f.path(), 4, 0.5), 2, 7).unwrap();
        let arrivals = w.arrivals.unwrap();
        assert_eq!(arrivals, [Duration::ZERO, Duration::from_millis(250)]);
    }

    fn error(text: &str, block_size: u32) -> String {
        let f = file(text);
        load(&spec(f.path(), block_size, 1.0), 10, 1).unwrap_err().0
    }

    #[test]
    fn bad_traces_name_the_line_and_the_problem() {
        let row = |t: &str, i: &str, o: &str, h: &str| {
            format!("{{\"timestamp\": {t}, \"input_length\": {i}, \"output_length\": {o}, \"hash_ids\": {h}}}\n")
        };
        let good = row("0", "8", "2", "[1, 2]");
        assert!(error("", 4).contains("holds no requests"));
        assert!(error("\n\n", 4).contains("holds no requests"));
        let unsorted = format!("{good}{}", row("-1", "8", "2", "[1, 2]"));
        assert!(error(&unsorted, 4).contains("\"timestamp\" must be"));
        let unsorted = format!("{}{good}", row("5", "8", "2", "[1, 2]"));
        let err = error(&unsorted, 4);
        assert!(err.contains(":2:") && err.contains("sorted"), "{err}");
        let missing = "{\"timestamp\": 0, \"input_length\": 8, \"hash_ids\": [1, 2]}\n";
        let err = error(missing, 4);
        assert!(
            err.contains(":1:") && err.contains("\"output_length\""),
            "{err}"
        );
        let err = error(&good, 512);
        assert!(
            err.contains("--trace-block-size") && err.contains("need 1"),
            "{err}"
        );
        assert!(error(&row("0", "8", "2", "[1, -2]"), 4).contains("hash id -2"));
        assert!(error(&row("0", "0", "2", "[]"), 4).contains("\"input_length\" must be"));
        assert!(error(&row("0", "8", "0", "[1, 2]"), 4).contains("\"output_length\" must be"));
        assert!(error(&row("0", "8", "2", "7"), 4).contains("list of integers"));
        assert!(error("{\"timestamp\": 0,", 4).contains("not JSON"));
    }
}
