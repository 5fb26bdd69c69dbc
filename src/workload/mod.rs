//! Workloads: the requests of a run, as token ids.
//!
//! Every source is seeded, so the same flags give the same token ids for every
//! engine and engines are compared on identical work.

pub mod prompts_file;
pub mod random;
pub mod shared_prefix;
pub mod sharegpt;
pub mod tokenizer;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One request of the workload, before it is scheduled.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkItem {
    pub prompt_token_ids: Arc<[u32]>,
    pub max_output_tokens: u32,
}

impl WorkItem {
    pub fn new(prompt_token_ids: Vec<u32>, max_output_tokens: u32) -> Self {
        Self {
            prompt_token_ids: prompt_token_ids.into(),
            max_output_tokens,
        }
    }

    pub fn input_len(&self) -> u32 {
        self.prompt_token_ids.len() as u32
    }
}

/// Why a workload could not be built: always a problem with the user's input.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct WorkloadError(pub String);

/// Which workload to build, with its parameters (from `--dataset-name` and friends).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "kebab-case")]
pub enum WorkloadSpec {
    Random(random::RandomSpec),
    PromptsFile {
        path: PathBuf,
        tokenizer: Option<PathBuf>,
        default_output_len: u32,
    },
    ShareGpt {
        path: PathBuf,
        tokenizer: PathBuf,
        /// Overrides the completion's length as the output budget.
        output_len: Option<u32>,
    },
    SharedPrefix(shared_prefix::SharedPrefixSpec),
}

/// No request may be longer than this (prompt + output tokens), whatever
/// the model: far beyond any context length, and small enough that token
/// counts never overflow the 32-bit lengths the engines take.
pub const MAX_REQUEST_TOKENS: u64 = 1 << 27;

/// Memory per request, roughly: the item, its record, its samples.
const ITEM_BYTES: u64 = 64;
const RECORD_BYTES: u64 = 256;
/// Per output token: a delivery (16 bytes, twice over while its vector
/// grows) and an inter-token gap in the samples (8 bytes).
const BYTES_PER_OUTPUT_TOKEN: u64 = 40;

/// What a workload's requests hold, at most, before they are built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Prompt tokens each request holds a copy of.
    pub own_prompt_tokens: u64,
    /// Prompt tokens held once and shared (a file's lines, users' contexts).
    pub shared_prompt_tokens: u64,
    /// Longest prompt and output of one request.
    pub longest_prompt: u64,
    pub longest_output: u64,
}

impl Shape {
    /// What a spec's requests hold, from its flags (files: from their size).
    pub fn of(spec: &WorkloadSpec) -> Shape {
        match spec {
            WorkloadSpec::Random(r) => {
                let (_, in_hi) = random::length_bounds(r.input_len, r.range_ratio);
                let (_, out_hi) = random::length_bounds(r.output_len, r.range_ratio);
                let prompt = u64::from(r.prefix_len) + u64::from(in_hi);
                Shape {
                    own_prompt_tokens: prompt,
                    shared_prompt_tokens: 0,
                    longest_prompt: prompt,
                    longest_output: u64::from(out_hi),
                }
            }
            WorkloadSpec::SharedPrefix(p) => {
                let prompt = u64::from(p.context_len) + u64::from(p.question_len);
                Shape {
                    own_prompt_tokens: prompt,
                    shared_prompt_tokens: u64::from(p.num_users) * u64::from(p.context_len),
                    longest_prompt: prompt,
                    longest_output: u64::from(p.output_len),
                }
            }
            // A file's prompts are held once, however often they repeat; a
            // token takes at least a byte of text. Output lengths are known
            // once the file is read: `check_built` checks them then.
            WorkloadSpec::PromptsFile {
                path,
                default_output_len,
                ..
            } => Shape::of_file(path, u64::from(*default_output_len)),
            WorkloadSpec::ShareGpt { path, .. } => Shape::of_file(path, sharegpt::MAX_TOTAL_TOKENS),
        }
    }

    fn of_file(path: &std::path::Path, output: u64) -> Shape {
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        Shape {
            own_prompt_tokens: 0,
            shared_prompt_tokens: bytes,
            longest_prompt: 0,
            longest_output: output,
        }
    }

    /// What built `items` hold: their own prompts, shared ones once.
    pub fn of_items(items: &[WorkItem]) -> Shape {
        let mut seen = std::collections::HashSet::new();
        let mut shared = 0;
        for item in items {
            if seen.insert(Arc::as_ptr(&item.prompt_token_ids) as *const u32) {
                shared += u64::from(item.input_len());
            }
        }
        Shape {
            own_prompt_tokens: 0,
            shared_prompt_tokens: shared,
            longest_prompt: items
                .iter()
                .map(|i| u64::from(i.input_len()))
                .max()
                .unwrap_or(0),
            longest_output: items
                .iter()
                .map(|i| u64::from(i.max_output_tokens))
                .max()
                .unwrap_or(0),
        }
    }

    /// Bytes for `requests` items and `records` records of this shape.
    pub fn bytes(&self, requests: u64, records: u64) -> u64 {
        let item = ITEM_BYTES.saturating_add(self.own_prompt_tokens.saturating_mul(4));
        let record =
            RECORD_BYTES.saturating_add(self.longest_output.saturating_mul(BYTES_PER_OUTPUT_TOKEN));
        requests
            .saturating_mul(item)
            .saturating_add(self.shared_prompt_tokens.saturating_mul(4))
            .saturating_add(records.saturating_mul(record))
    }
}

/// Refuses a workload whose requests are longer than any model takes or
/// whose run would not fit in memory: checked from the flags before
/// anything is built. `trials` runs of `num_prompts` requests keep their
/// records until the level is summarized; the warm-up's are dropped.
pub fn check_memory(
    spec: &WorkloadSpec,
    num_prompts: usize,
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    check_shape(&Shape::of(spec), num_prompts, num_warmups, trials)
}

/// [`check_memory`] again once a file-based workload is built and its real
/// lengths are known, before any record is made.
pub fn check_built(
    items: &[WorkItem],
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    check_shape(&Shape::of_items(items), items.len(), num_warmups, trials)
}

fn check_shape(
    shape: &Shape,
    num_prompts: usize,
    num_warmups: usize,
    trials: usize,
) -> Result<(), WorkloadError> {
    let longest = shape.longest_prompt.saturating_add(shape.longest_output);
    if longest > MAX_REQUEST_TOKENS {
        return Err(WorkloadError(format!(
            "a request of {} + {} tokens is longer than any model's context \
             (this tool takes at most {MAX_REQUEST_TOKENS} tokens per request)",
            shape.longest_prompt, shape.longest_output
        )));
    }
    let (n, w, t) = (num_prompts as u64, num_warmups as u64, trials as u64);
    let records = n.saturating_mul(t).saturating_add(w);
    let bytes = shape.bytes(n.saturating_add(w), records);
    let what = format!(
        "{records} requests (--num-prompts {num_prompts} x --trials {trials} + \
         --num-warmups {num_warmups}) of up to {} + {} tokens",
        shape.longest_prompt, shape.longest_output
    );
    crate::process::memory::check(&what, bytes).map_err(WorkloadError)
}

/// Builds `count` requests for the spec. `seed` fixes sampling and token ids.
pub fn build(spec: &WorkloadSpec, count: usize, seed: u64) -> Result<Vec<WorkItem>, WorkloadError> {
    let items = match spec {
        WorkloadSpec::Random(random) => random::generate(random, count, seed),
        WorkloadSpec::PromptsFile {
            path,
            tokenizer,
            default_output_len,
        } => prompts_file::load(path, tokenizer.as_deref(), *default_output_len, count)?,
        WorkloadSpec::ShareGpt {
            path,
            tokenizer,
            output_len,
        } => sharegpt::load(path, tokenizer, *output_len, count, seed)?,
        WorkloadSpec::SharedPrefix(shared) => shared_prefix::generate(shared, count, seed),
    };
    if items.is_empty() {
        return Err(WorkloadError("the workload has no requests".into()));
    }
    Ok(items)
}

/// Checks the workload against what the engine accepts, naming the first offender.
pub fn check_limits(
    items: &[WorkItem],
    max_model_len: Option<u32>,
    vocab_size: Option<u32>,
) -> Result<(), WorkloadError> {
    for (index, item) in items.iter().enumerate() {
        let total = item.input_len() as u64 + item.max_output_tokens as u64;
        if let Some(limit) = max_model_len.filter(|limit| total > *limit as u64) {
            return Err(WorkloadError(format!(
                "request {index}: input {} + output {} tokens exceeds the model's limit of {limit}",
                item.input_len(),
                item.max_output_tokens
            )));
        }
        let too_big = vocab_size.and_then(|v| item.prompt_token_ids.iter().find(|&&t| t >= v));
        if let (Some(token), Some(vocab)) = (too_big, vocab_size) {
            return Err(WorkloadError(format!(
                "request {index}: token id {token} is outside the model's vocabulary of {vocab}"
            )));
        }
    }
    Ok(())
}
