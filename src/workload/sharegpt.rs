//! ShareGPT-format JSON: a list of `{"conversations": [{"from", "value"}, ...]}`.
//! As in vLLM's benchmark: conversations are shuffled with the seed, the first
//! turn is the prompt and the second the completion, whose token count is the
//! output budget; pairs with fewer than 4 tokens on either side, a prompt over
//! 1024 tokens or more than 2048 in all are skipped (turns over 128 KiB of
//! text without tokenizing them). A byte-order mark before the JSON is
//! accepted.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::prompts_file::{read_input, repeat_to};
use super::tokenizer::TextTokenizer;
use super::{WorkItem, WorkloadError};

const MIN_TOKENS: usize = 4;
/// A turn longer than this (bytes) holds more than [`MAX_TOTAL_TOKENS`]
/// tokens of any real tokenizer (64 bytes a token): skipped before tokenizing.
const MAX_TEXT_BYTES: usize = 64 * MAX_TOTAL_TOKENS as usize;
const MAX_PROMPT_TOKENS: usize = 1024;
pub(crate) const MAX_TOTAL_TOKENS: u64 = 2048;

#[derive(Deserialize)]
pub(crate) struct Entry {
    #[serde(default)]
    pub conversations: Vec<Message>,
}

#[derive(Deserialize)]
pub(crate) struct Message {
    /// `human` or `gpt` (other roles occur in the wild).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub value: String,
}

/// The file's conversations of at least `min_messages` messages, shuffled
/// with `seed`.
pub(crate) fn read_shuffled(
    path: &Path,
    min_messages: usize,
    seed: u64,
) -> Result<Vec<Entry>, WorkloadError> {
    let text = read_input(path, "ShareGPT file")?;
    let mut entries: Vec<Entry> = serde_json::from_str(&text).map_err(|e| {
        WorkloadError(format!(
            "ShareGPT file {} is not valid: {e}",
            path.display()
        ))
    })?;
    entries.retain(|e| e.conversations.len() >= min_messages);
    entries.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    Ok(entries)
}

pub fn load(
    path: &Path,
    tokenizer: &Path,
    output_len: Option<u32>,
    count: usize,
    seed: u64,
) -> Result<Vec<WorkItem>, WorkloadError> {
    let entries = read_shuffled(path, 2, seed)?;
    let tokenizer = TextTokenizer::load(tokenizer)?;
    let mut items = Vec::new();
    for entry in &entries {
        if items.len() == count {
            break;
        }
        let (prompt_text, completion_text) =
            (&entry.conversations[0].value, &entry.conversations[1].value);
        // Longer texts cannot fit the token limits below: skipped untokenized.
        if prompt_text.len() > MAX_TEXT_BYTES
            || (output_len.is_none() && completion_text.len() > MAX_TEXT_BYTES)
        {
            continue;
        }
        let prompt = tokenizer.encode(prompt_text)?;
        let out = match output_len {
            Some(n) => n as usize,
            None => tokenizer.encode(completion_text)?.len(),
        };
        let too_short = prompt.len() < MIN_TOKENS || (output_len.is_none() && out < MIN_TOKENS);
        if too_short
            || prompt.len() > MAX_PROMPT_TOKENS
            || (prompt.len() + out) as u64 > MAX_TOTAL_TOKENS
        {
            continue;
        }
        items.push(WorkItem::new(prompt, out as u32));
    }
    if items.is_empty() {
        return Err(WorkloadError(format!(
            "ShareGPT file {} has no usable conversation (two turns, 4..1024 prompt tokens)",
            path.display()
        )));
    }
    Ok(repeat_to(items, count))
}
