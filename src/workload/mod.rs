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
