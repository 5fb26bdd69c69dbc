//! Text to token ids with a Hugging Face `tokenizer.json` (the `tokenizers` crate).

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use super::WorkloadError;

/// Longest text tokenized, in bytes. A token covers at least one byte, so
/// this bounds the tokens too (and the tokenizer's own memory, tens of
/// bytes per token): far beyond any model's context at 4 bytes a token.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// A loaded tokenizer. `path` may name `tokenizer.json` or a model folder holding it.
pub struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    pub fn load(path: &Path) -> Result<Self, WorkloadError> {
        load_file(path)
            .map(|inner| Self { inner })
            .map_err(WorkloadError)
    }

    /// Token ids without special tokens, so lengths count the text alone.
    /// Texts over [`MAX_TEXT_BYTES`] are refused before tokenizing.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, WorkloadError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(WorkloadError(format!(
                "a text of {} bytes is longer than the longest this tokenizes ({MAX_TEXT_BYTES} bytes)",
                text.len()
            )));
        }
        self.inner
            .encode(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| WorkloadError(format!("cannot tokenize text: {e}")))
    }
}

/// Loads `tokenizer.json`, or the one in a model folder; `Err` is one line
/// naming the file. Also used by the engines that decode or count text.
pub fn load_file(path: &Path) -> Result<Tokenizer, String> {
    let file: PathBuf = if path.is_dir() {
        path.join("tokenizer.json")
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Err(format!(
            "tokenizer not found: {} (give a tokenizer.json or a model folder holding one)",
            file.display()
        ));
    }
    Tokenizer::from_file(&file)
        .map_err(|e| format!("cannot load tokenizer {}: {e}", file.display()))
}
