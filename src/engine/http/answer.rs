//! A streamed request's generated token ids, collected for conversations
//! that carry real answers into the next round: the ids the server sent
//! (vLLM's `return_token_ids` extension puts each chunk's new ids in
//! `choices[0].token_ids`; Triton's `tensorrt_llm` model sends
//! `output_ids`), else the tokenizer over the whole text it streamed.
//! Re-tokenized text need not give back the server's own ids (merges at
//! chunk edges, a tokenizer other than the server's): each record says which
//! way its answer was read.

use serde_json::Value;
use tokenizers::Tokenizer;

use super::count::tolerance;

pub(crate) struct AnswerIds {
    ids: Vec<u32>,
    text: String,
    /// Most ids a server may send: the budget and the count's tolerance.
    limit: usize,
}

impl AnswerIds {
    pub fn new(max_tokens: u32) -> Self {
        Self {
            ids: Vec::new(),
            text: String::new(),
            limit: (u64::from(max_tokens) + tolerance(max_tokens)) as usize,
        }
    }

    /// One chunk's ids (a list, or lists by beam of which the first is
    /// taken) and text; `Err` when the ids are not ids or run past the budget.
    pub fn push(&mut self, ids: Option<&Value>, text: Option<&str>) -> Result<(), String> {
        self.text.push_str(text.unwrap_or(""));
        let Some(ids) = ids.filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let first_beam = match ids.as_array().and_then(|a| a.first()) {
            Some(Value::Array(_)) => &ids[0],
            _ => ids,
        };
        let list = first_beam.as_array().ok_or_else(|| {
            format!(
                "token ids {} are not a list",
                super::excerpt(&ids.to_string(), 40)
            )
        })?;
        for id in list {
            let id = id
                .as_u64()
                .filter(|&n| n <= u64::from(u32::MAX))
                .ok_or_else(|| format!("token id {id} is not a token id"))?;
            self.ids.push(id as u32);
        }
        if self.ids.len() > self.limit {
            return Err(format!(
                "the server sent {} token ids, more than max_tokens allows",
                self.ids.len()
            ));
        }
        Ok(())
    }

    /// The answer's ids and how they were read (`server` or `tokenizer`).
    pub fn finish(self, tokenizer: Option<&Tokenizer>) -> Result<(Vec<u32>, &'static str), String> {
        if !self.ids.is_empty() || self.text.is_empty() {
            return Ok((self.ids, "server"));
        }
        let tokenizer = tokenizer.ok_or(
            "the server sent text but no token ids (vLLM's return_token_ids): give --tokenizer \
             to re-tokenize its answers",
        )?;
        let encoding = tokenizer
            .encode(self.text.as_str(), false)
            .map_err(|e| format!("cannot tokenize the answer: {e}"))?;
        Ok((encoding.get_ids().to_vec(), "tokenizer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_ids_are_kept_in_order_first_beam_only() {
        let mut a = AnswerIds::new(10);
        a.push(Some(&json!([5, 6])), Some("ab")).unwrap();
        a.push(Some(&json!([[7], [99]])), None).unwrap();
        a.push(None, Some("c")).unwrap();
        assert_eq!(a.finish(None).unwrap(), (vec![5, 6, 7], "server"));
    }

    #[test]
    fn bad_or_too_many_ids_and_text_without_a_tokenizer_are_refused() {
        let mut a = AnswerIds::new(10);
        assert!(a.push(Some(&json!([1, -1])), None).is_err());
        assert!(a.push(Some(&json!("x")), None).is_err());
        let mut long = AnswerIds::new(10);
        let err = long.push(Some(&json!(vec![1; 19])), None).unwrap_err();
        assert!(err.contains("more than max_tokens"), "{err}");
        let mut text = AnswerIds::new(10);
        text.push(None, Some("hello")).unwrap();
        assert!(text.finish(None).unwrap_err().contains("--tokenizer"));
        assert_eq!(AnswerIds::new(4).finish(None).unwrap(), (vec![], "server"));
    }
}
