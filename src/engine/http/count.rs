//! Output tokens of one request, counted from what its chunks carry, and
//! checked: a count that goes down, that runs past the request's budget, or
//! that is no count at all fails the request with the reason, so that a
//! server's lie can neither overflow anything nor inflate a throughput.

use std::sync::Arc;

use serde_json::{json, Value};
use tokenizers::Tokenizer;

use super::answer::AnswerIds;

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

/// Tokens a count may run past `max_tokens` before the request fails: 10%,
/// at least 8. Servers stop at the budget; a little over it is rounding, far
/// over it is a lie.
pub(crate) fn tolerance(max_tokens: u32) -> u64 {
    (u64::from(max_tokens) / 10).max(8)
}

/// The most tokens a count by `method` may reach. The tokenizer's count is an
/// estimate (re-encoding text need not give the server's tokens back, and a
/// tokenizer other than the server's can be a few times off), so it gets four
/// times the budget; the others are exact, or at most one token per chunk.
fn limit(method: CountMethod, max_tokens: u32) -> u64 {
    let budget = u64::from(max_tokens);
    match method {
        CountMethod::Tokenizer => 4 * budget + tolerance(max_tokens),
        _ => budget + tolerance(max_tokens),
    }
}

/// The tokenizer re-encodes the text not yet settled on every chunk, so that
/// a token split across chunks counts once. Past this many bytes, all but its
/// last few tokens are settled and their text dropped: the cost of a chunk
/// stays bounded however long the answer, and so does the text kept.
const TOKENIZER_WINDOW: usize = 4096;
/// Tokens left unsettled at the end of the window: a merge can reach back
/// only this far.
const TOKENIZER_KEEP: usize = 16;

/// Counts one request's output tokens as chunks arrive.
pub(crate) struct TokenCounter {
    tokenizer: Option<Arc<Tokenizer>>,
    /// The streamed text not yet settled, kept only when a tokenizer counts it.
    text: String,
    /// Tokens of the text already dropped from `text`.
    settled: u64,
    /// [`TOKENIZER_WINDOW`], smaller in tests.
    window: usize,
    delivered: u64,
    max_tokens: u32,
    /// The last cumulative `usage.completion_tokens` seen mid-stream.
    last_usage: Option<u64>,
    method: Option<CountMethod>,
    /// `usage.completion_tokens` of the server's final report, when it sent one.
    final_usage: Option<u64>,
    /// The answer's token ids, collected when the run needs them.
    pub answer: Option<AnswerIds>,
}

impl TokenCounter {
    pub fn new(tokenizer: Option<Arc<Tokenizer>>, max_tokens: u32) -> Self {
        Self {
            tokenizer,
            text: String::new(),
            settled: 0,
            window: TOKENIZER_WINDOW,
            delivered: 0,
            max_tokens,
            last_usage: None,
            method: None,
            final_usage: None,
            answer: None,
        }
    }

    /// The new tokens of one chunk, by the best evidence it carries: a
    /// cumulative usage count, then token ids, then the tokenizer over the
    /// text so far, then one per chunk with text. `Err` is the failure reason.
    pub fn chunk(
        &mut self,
        usage: Option<u64>,
        ids: Option<u64>,
        text: Option<&str>,
    ) -> Result<u32, String> {
        let text = text.unwrap_or("");
        if self.tokenizer.is_some() {
            self.text.push_str(text);
        }
        let (method, new) = if let Some(total) = usage {
            if let Some(last) = self.last_usage.filter(|&last| total < last) {
                return Err(format!(
                    "usage.completion_tokens went down from {last} to {total}"
                ));
            }
            self.check(CountMethod::Usage, "usage.completion_tokens", total)?;
            self.last_usage = Some(total);
            (CountMethod::Usage, total.saturating_sub(self.delivered))
        } else if let Some(n) = ids {
            (CountMethod::TokenIds, n)
        } else if let Some(tokenizer) = self.tokenizer.clone() {
            let total = self.tokenizer_total(&tokenizer);
            (CountMethod::Tokenizer, total.saturating_sub(self.delivered))
        } else {
            (CountMethod::Chunks, u64::from(!text.is_empty()))
        };
        let total = self.delivered.saturating_add(new);
        if method != CountMethod::Usage {
            self.check(method, &format!("the {} count", method.name()), total)?;
        }
        if new > 0 {
            self.method.get_or_insert(method);
        }
        self.delivered = total;
        // At most `limit`, which fits: max_tokens is a u32 and the tolerance
        // a tenth of it (or 8), and a chunk's tokens are fewer still.
        Ok(u32::try_from(new).unwrap_or(u32::MAX))
    }

    /// The server's final usage report (a chunk with no choices).
    pub fn final_usage(&mut self, completion_tokens: u64) -> Result<(), String> {
        if let Some(last) = self.last_usage.filter(|&last| completion_tokens < last) {
            return Err(format!(
                "final usage.completion_tokens {completion_tokens} is below the {last} \
                 reported mid-stream"
            ));
        }
        self.check(
            CountMethod::Usage,
            "final usage.completion_tokens",
            completion_tokens,
        )?;
        self.final_usage = Some(completion_tokens);
        Ok(())
    }

    /// Fails when `what` (a count of `total` tokens by `method`) is past its limit.
    fn check(&self, method: CountMethod, what: &str, total: u64) -> Result<(), String> {
        let limit = limit(method, self.max_tokens);
        if total <= limit {
            return Ok(());
        }
        Err(format!(
            "{what} {total} is beyond max_tokens {} (at most {limit} with the tolerance): \
             not a count to trust",
            self.max_tokens
        ))
    }

    /// The tokenizer's count of all the text so far (see [`TOKENIZER_WINDOW`]).
    fn tokenizer_total(&mut self, tokenizer: &Tokenizer) -> u64 {
        let Ok(encoding) = tokenizer.encode(self.text.as_str(), false) else {
            return self.settled;
        };
        let tokens = encoding.len();
        let total = self.settled + tokens as u64;
        if self.text.len() > self.window && tokens > TOKENIZER_KEEP {
            // Byte offsets; a byte-level token may start inside a character,
            // so cut at the last kept token that starts on a boundary.
            let offsets = encoding.get_offsets();
            let cut = (1..=tokens - TOKENIZER_KEEP).rev().find(|&k| {
                let at = offsets[k].0;
                at > 0 && self.text.is_char_boundary(at)
            });
            if let Some(k) = cut {
                self.settled += k as u64;
                self.text.drain(..offsets[k].0);
            }
        }
        total
    }

    /// Tokens delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Kept in the request's detailed record: how it was counted, and whether
    /// the server's own total agrees with the deliveries.
    pub fn stats(&self) -> Value {
        let mut stats = json!({
            "token_count": self.method.map(CountMethod::name),
            "delivered_tokens": self.delivered,
            "usage_completion_tokens": self.final_usage,
            "usage_agrees": self.final_usage.map(|u| u == self.delivered),
        });
        let exact_limit = u64::from(self.max_tokens) + tolerance(self.max_tokens);
        if self.method == Some(CountMethod::Tokenizer) && self.delivered > exact_limit {
            stats["token_count_note"] = json!(format!(
                "the tokenizer counted {} tokens for max_tokens {}: is --tokenizer the server's?",
                self.delivered, self.max_tokens
            ));
        }
        stats
    }
}

/// A JSON `completion_tokens`-like field: absent or null is `None`, a
/// non-negative integer is the count, anything else (negative, fractional,
/// too large for an integer, text) is the failure reason.
pub(crate) fn count_field(value: Option<&Value>, name: &str) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{name} is {}: not a token count", excerpt_value(v))),
    }
}

fn excerpt_value(value: &Value) -> String {
    super::excerpt(&value.to_string(), 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_prefers_usage_then_ids_then_chunks() {
        let mut counter = TokenCounter::new(None, 100);
        assert_eq!(counter.chunk(Some(3), None, Some("abc")), Ok(3));
        assert_eq!(counter.chunk(Some(5), None, Some("de")), Ok(2));
        counter.final_usage(5).unwrap();
        assert_eq!(counter.stats()["usage_agrees"], true);
        assert_eq!(counter.stats()["token_count"], "usage");
        let mut counter = TokenCounter::new(None, 100);
        assert_eq!(counter.chunk(None, Some(4), None), Ok(4));
        assert_eq!(counter.chunk(None, None, Some("x")), Ok(1));
        assert_eq!(counter.chunk(None, None, Some("")), Ok(0));
        counter.final_usage(7).unwrap();
        assert_eq!(counter.stats()["usage_agrees"], false);
    }

    #[test]
    fn lying_counts_fail_with_the_reason() {
        let mut counter = TokenCounter::new(None, 10);
        counter.chunk(Some(7), None, Some("x")).unwrap();
        assert_eq!(
            counter.chunk(Some(3), None, Some("x")),
            Err("usage.completion_tokens went down from 7 to 3".into())
        );
        // 10 + 8 tolerance is the most a count may say.
        let mut counter = TokenCounter::new(None, 10);
        assert_eq!(counter.chunk(Some(18), None, None), Ok(18));
        assert_eq!(
            counter.chunk(Some(4_000_000_000), None, None),
            Err(
                "usage.completion_tokens 4000000000 is beyond max_tokens 10 (at most 18 with \
                 the tolerance): not a count to trust"
                    .into()
            )
        );
        let mut counter = TokenCounter::new(None, 1000);
        let error = counter.chunk(None, Some(200_000), None).unwrap_err();
        assert!(
            error.starts_with("the token_ids count 200000 is beyond max_tokens 1000 (at most 1100"),
            "{error}"
        );
        // One token per chunk past the budget: an endless stream of text.
        let mut counter = TokenCounter::new(None, 2);
        for _ in 0..10 {
            counter.chunk(None, None, Some("t")).unwrap();
        }
        assert!(counter.chunk(None, None, Some("t")).is_err());
        // The final report is checked the same way.
        let mut counter = TokenCounter::new(None, 10);
        counter.chunk(Some(5), None, None).unwrap();
        assert!(counter
            .final_usage(4)
            .unwrap_err()
            .contains("below the 5 reported"));
        assert!(counter.final_usage(u64::MAX).is_err());
        assert_eq!(counter.stats()["usage_completion_tokens"], Value::Null);
    }

    #[test]
    fn usage_mixed_with_other_evidence_does_not_count_twice() {
        // Per-chunk usage on some chunks only: the ones without are counted
        // by chunks, and the next usage total settles the difference.
        let mut counter = TokenCounter::new(None, 100);
        assert_eq!(counter.chunk(Some(2), None, Some("a")), Ok(2));
        assert_eq!(counter.chunk(None, None, Some("b")), Ok(1));
        assert_eq!(counter.chunk(Some(3), None, Some("c")), Ok(0));
        assert_eq!(counter.chunk(Some(6), None, Some("d")), Ok(3));
        assert_eq!(counter.delivered(), 6);
    }

    #[test]
    fn count_fields_reject_what_is_not_a_count() {
        let field = |v: Value| count_field(Some(&v), "usage.completion_tokens");
        assert_eq!(field(json!(12)), Ok(Some(12)));
        assert_eq!(field(Value::Null), Ok(None));
        assert_eq!(count_field(None, "x"), Ok(None));
        assert_eq!(
            field(json!(-5)),
            Err("usage.completion_tokens is -5: not a token count".into())
        );
        assert!(field(json!(2.5)).is_err());
        assert!(field(json!(1e30)).is_err());
        assert!(field(json!("7")).is_err());
    }

    #[test]
    fn the_tokenizer_window_counts_a_long_answer_as_the_whole_text_does() {
        use tokenizers::models::wordlevel::WordLevel;
        use tokenizers::pre_tokenizers::whitespace::Whitespace;
        let vocab = [("tok".to_string(), 0), ("[UNK]".to_string(), 1)];
        let model = WordLevel::builder()
            .vocab(vocab.into_iter().collect())
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_pre_tokenizer(Some(Whitespace {}));
        let tokenizer = Arc::new(tokenizer);
        let mut counter = TokenCounter::new(Some(tokenizer), 10_000);
        counter.window = 256;
        // 2000 words in pieces that split words: far past the window.
        let text = "tok ".repeat(2000);
        let mut sum = 0;
        for piece in text.as_bytes().chunks(3) {
            sum += counter
                .chunk(None, None, std::str::from_utf8(piece).ok())
                .unwrap();
        }
        assert_eq!(sum, 2000);
        assert!(
            counter.text.len() <= TOKENIZER_WINDOW + 64,
            "{}",
            counter.text.len()
        );
    }
}
