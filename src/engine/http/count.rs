//! Output tokens of one request, counted from what its chunks carry.

use std::sync::Arc;

use serde_json::{json, Value};
use tokenizers::Tokenizer;

/// How output tokens were counted, as written in results.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CountMethod {
    /// The server's cumulative `usage.completion_tokens` on every chunk: exact.
    Usage,
    /// Token ids in the chunk (Triton's `output_ids`): exact.
    TokenIds,
    /// The model's tokenizer over the streamed text.
    Tokenizer,
    /// One token per chunk with text: only right for servers that stream token by token.
    Chunks,
}

impl CountMethod {
    fn name(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::TokenIds => "token_ids",
            Self::Tokenizer => "tokenizer",
            Self::Chunks => "chunks",
        }
    }
}

/// Counts one request's output tokens as chunks arrive.
pub(crate) struct TokenCounter {
    tokenizer: Option<Arc<Tokenizer>>,
    text: String,
    delivered: u64,
    method: Option<CountMethod>,
    /// `usage.completion_tokens` of the server's final report, when it sent one.
    final_usage: Option<u64>,
}

impl TokenCounter {
    pub fn new(tokenizer: Option<Arc<Tokenizer>>) -> Self {
        Self {
            tokenizer,
            text: String::new(),
            delivered: 0,
            method: None,
            final_usage: None,
        }
    }

    /// The new tokens of one chunk, by the best evidence it carries: a
    /// cumulative usage count, then token ids, then the tokenizer over the
    /// text so far, then one per chunk with text.
    pub fn chunk(&mut self, usage: Option<u64>, ids: Option<usize>, text: Option<&str>) -> u32 {
        let text = text.unwrap_or("");
        self.text.push_str(text);
        let (method, new) = if let Some(total) = usage {
            (CountMethod::Usage, total.saturating_sub(self.delivered))
        } else if let Some(n) = ids {
            (CountMethod::TokenIds, n as u64)
        } else if let Some(tokenizer) = &self.tokenizer {
            // Re-encoding the whole text keeps tokens split across chunks whole.
            let total = tokenizer
                .encode(self.text.as_str(), false)
                .map_or(0, |e| e.get_ids().len() as u64);
            (CountMethod::Tokenizer, total.saturating_sub(self.delivered))
        } else {
            (CountMethod::Chunks, u64::from(!text.is_empty()))
        };
        if new > 0 {
            self.method.get_or_insert(method);
        }
        self.delivered += new;
        new.min(u32::MAX as u64) as u32
    }

    /// The server's final usage report (a chunk with no choices).
    pub fn final_usage(&mut self, completion_tokens: u64) {
        self.final_usage = Some(completion_tokens);
    }

    /// Kept in the request's detailed record: how it was counted, and whether
    /// the server's own total agrees with the deliveries.
    pub fn stats(&self) -> Value {
        json!({
            "token_count": self.method.map(CountMethod::name),
            "delivered_tokens": self.delivered,
            "usage_completion_tokens": self.final_usage,
            "usage_agrees": self.final_usage.map(|u| u == self.delivered),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_prefers_usage_then_ids_then_chunks() {
        let mut counter = TokenCounter::new(None);
        assert_eq!(counter.chunk(Some(3), None, Some("abc")), 3);
        assert_eq!(counter.chunk(Some(5), None, Some("de")), 2);
        counter.final_usage(5);
        assert_eq!(counter.stats()["usage_agrees"], true);
        assert_eq!(counter.stats()["token_count"], "usage");
        let mut counter = TokenCounter::new(None);
        assert_eq!(counter.chunk(None, Some(4), None), 4);
        assert_eq!(counter.chunk(None, None, Some("x")), 1);
        assert_eq!(counter.chunk(None, None, Some("")), 0);
        counter.final_usage(7);
        assert_eq!(counter.stats()["usage_agrees"], false);
    }
}
