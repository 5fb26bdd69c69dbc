//! `triton`: Triton Inference Server's HTTP generate extension,
//! `POST /v2/models/NAME/generate_stream`, as served with the TensorRT-LLM
//! backend. Each server-sent event is one JSON response; the stream ends when
//! the body ends (there is no end marker).
//!
//! - Prompts: by default the `ensemble` model's text interface (`text_input`,
//!   `max_tokens`), decoded with `--tokenizer`. `--engine-arg token_id_prompts=true`
//!   talks to the `tensorrt_llm` model directly instead (`input_ids`,
//!   `input_lengths`, `request_output_len`, `streaming`).
//! - Output tokens: `output_ids` when the response has them (exact), else the
//!   tokenizer over `text_output`, else one per chunk; each record says which.
//! - `--ignore-eos` asks for at least the output budget with `min_tokens`
//!   (older backends call it `min_length`: `--engine-arg min_tokens_field=min_length`;
//!   `none` leaves it out).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{error_in, excerpt, Common, HttpEngine, Parsed, Protocol, TokenCounter};
use crate::engine::{EngineConfigError, EngineOptions, EngineRequest};

pub const NAME: &str = "triton";
const DEFAULT_ENDPOINT: &str = "/v2/models/{model}/generate_stream";

struct Triton {
    common: Common,
    token_id_prompts: bool,
    min_tokens_field: Option<String>,
}

pub fn open(options: &EngineOptions) -> Result<HttpEngine, EngineConfigError> {
    let (common, mut args) = Common::from_options(NAME, options, DEFAULT_ENDPOINT)?;
    let token_id_prompts = args.take_bool("token_id_prompts")?.unwrap_or(false);
    let min_tokens_field = match args.take_string("min_tokens_field") {
        None => Some("min_tokens".to_string()),
        Some(none) if none == "none" => None,
        Some(field) => Some(field),
    };
    args.finish()?;
    if !token_id_prompts && common.tokenizer.is_none() {
        return Err(EngineConfigError(
            "--engine triton sends text_input: it needs --tokenizer (or --engine-arg \
             token_id_prompts=true for the tensorrt_llm model)"
                .into(),
        ));
    }
    let mut settings = BTreeMap::new();
    settings.insert(
        "prompts".into(),
        if token_id_prompts {
            "token ids (input_ids)"
        } else {
            "text (text_input)"
        }
        .into(),
    );
    settings.insert(
        "token_count".into(),
        "output_ids where present, else tokenizer over text_output".into(),
    );
    let info = common.engine_info(NAME, options, settings);
    let protocol = Triton {
        common: common.clone(),
        token_id_prompts,
        min_tokens_field,
    };
    HttpEngine::new(common, Arc::new(protocol), options, info)
}

impl Protocol for Triton {
    fn body(&self, request: &EngineRequest) -> Result<Value, String> {
        let ids = &request.prompt_token_ids;
        let max_tokens = request.max_output_tokens;
        let mut body = if self.token_id_prompts {
            json!({
                "input_ids": ids.as_ref(),
                "input_lengths": [ids.len()],
                "request_output_len": [max_tokens],
                "streaming": true,
            })
        } else {
            json!({
                "text_input": self.common.prompt_text(ids)?,
                "max_tokens": max_tokens,
                "stream": true,
            })
        };
        body["temperature"] = json!(request.sampling.temperature);
        body["top_p"] = json!(request.sampling.top_p);
        if let Some(k) = request.sampling.top_k {
            body["top_k"] = json!(k);
        }
        if let (true, Some(field)) = (request.ignore_eos, &self.min_tokens_field) {
            body[field.as_str()] = json!(max_tokens);
        }
        Ok(body)
    }

    fn parse(&self, data: &str, counter: &mut TokenCounter) -> Result<Parsed, String> {
        let data = data.trim();
        // An event with empty data carries nothing (and no progress).
        if data.is_empty() {
            return Ok(Parsed::Tokens(0));
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|_| format!("malformed event: {}", excerpt(data, 100)))?;
        if let Some(message) = error_in(&value) {
            return Err(format!(
                "server error mid-stream: {}",
                excerpt(&message, 200)
            ));
        }
        let output_ids = value.get("output_ids");
        let ids = output_ids.map(count_ids);
        let text = value.get("text_output").and_then(Value::as_str);
        if let Some(answer) = counter.answer.as_mut() {
            answer.push(output_ids, text)?;
        }
        Ok(Parsed::Tokens(counter.chunk(None, ids, text)?))
    }

    fn needs_done_marker(&self) -> bool {
        false
    }

    fn version_path(&self) -> &'static str {
        "/v2"
    }
}

/// Token ids in `output_ids`, flat or nested by beam. serde_json's nesting
/// limit (128) bounds the recursion; the event bound bounds the sum.
fn count_ids(value: &Value) -> u64 {
    match value {
        Value::Array(items) => items.iter().map(count_ids).sum(),
        Value::Number(_) => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_flat_or_nested() {
        assert_eq!(count_ids(&json!([1, 2, 3])), 3);
        assert_eq!(count_ids(&json!([[1, 2]])), 2);
        assert_eq!(count_ids(&json!(7)), 1);
    }
}
