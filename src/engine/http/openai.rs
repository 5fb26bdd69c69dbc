//! `openai`: an OpenAI-compatible server (vLLM's `vllm serve`, `trtllm-serve`,
//! routers in front of them), streamed from `/v1/completions` (default) or
//! `/v1/chat/completions` (`--endpoint`).
//!
//! - Prompts: completions send the workload's token ids as `prompt` (vLLM
//!   accepts a list of ids), so the engine sees exactly the workload's tokens;
//!   `--engine-arg token_id_prompts=false` sends the decoded text instead.
//!   Chat always sends text (one user message, decoded with `--tokenizer`);
//!   the server then applies its chat template, so its prompt is a little longer.
//! - Output tokens: `stream_options.include_usage` plus vLLM's
//!   `continuous_usage_stats` put the cumulative `completion_tokens` on every
//!   chunk, which counts each chunk exactly. Servers without per-chunk usage
//!   are counted with `--tokenizer` over the streamed text, or one token per
//!   chunk without it; each record says which (`token_count`), and the final
//!   usage report is kept beside the deliveries (`usage_agrees`).
//!   `--engine-arg continuous_usage=false` leaves vLLM's extension out for
//!   servers that reject it.
//! - `--ignore-eos` sends vLLM's `ignore_eos` and `min_tokens`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::count::count_field;
use super::{error_in, excerpt, Common, HttpEngine, Parsed, Protocol, TokenCounter};
use crate::engine::{EngineConfigError, EngineOptions, EngineRequest};

pub const NAME: &str = "openai";
const DEFAULT_ENDPOINT: &str = "/v1/completions";

struct OpenAi {
    common: Common,
    chat: bool,
    token_id_prompts: bool,
    continuous_usage: bool,
}

pub fn open(options: &EngineOptions) -> Result<HttpEngine, EngineConfigError> {
    let (common, mut args) = Common::from_options(NAME, options, DEFAULT_ENDPOINT)?;
    let path = common.url.path().trim_end_matches('/').to_string();
    let chat = if path.ends_with("/chat/completions") {
        true
    } else if path.ends_with("/completions") {
        false
    } else {
        return Err(EngineConfigError(format!(
            "--endpoint '{path}': the openai engine speaks /v1/completions or /v1/chat/completions"
        )));
    };
    let token_id_prompts = args.take_bool("token_id_prompts")?.unwrap_or(!chat);
    let continuous_usage = args.take_bool("continuous_usage")?.unwrap_or(true);
    args.finish()?;
    if chat && token_id_prompts {
        return Err(EngineConfigError(
            "chat completions take text: token_id_prompts=true needs /v1/completions".into(),
        ));
    }
    if !token_id_prompts && common.tokenizer.is_none() {
        return Err(EngineConfigError(format!(
            "--engine openai with {path} sends text prompts: it needs --tokenizer \
             (a tokenizer.json or a model folder holding one)"
        )));
    }
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("endpoint".into(), path);
    settings.insert(
        "prompts".into(),
        if token_id_prompts {
            "token ids"
        } else {
            "text"
        }
        .into(),
    );
    settings.insert(
        "token_count".into(),
        match (continuous_usage, common.tokenizer.is_some()) {
            (true, true) => "per-chunk usage; tokenizer where a server omits it",
            (true, false) => "per-chunk usage; one per chunk where a server omits it",
            (false, true) => "tokenizer over the streamed text",
            (false, false) => "one per chunk (no tokenizer given)",
        }
        .into(),
    );
    let info = common.engine_info(NAME, options, settings);
    let protocol = OpenAi {
        common: common.clone(),
        chat,
        token_id_prompts,
        continuous_usage,
    };
    HttpEngine::new(common, Arc::new(protocol), options, info)
}

impl Protocol for OpenAi {
    fn body(&self, request: &EngineRequest) -> Result<Value, String> {
        let ids = &request.prompt_token_ids;
        let mut body = json!({
            "model": self.common.model_name,
            "stream": true,
            "temperature": request.sampling.temperature,
            "top_p": request.sampling.top_p,
        });
        let max_tokens = request.max_output_tokens;
        if self.chat {
            body["messages"] = json!([{"role": "user", "content": self.common.prompt_text(ids)?}]);
            body["max_completion_tokens"] = json!(max_tokens);
        } else {
            body["prompt"] = match self.token_id_prompts {
                true => json!(ids.as_ref()),
                false => json!(self.common.prompt_text(ids)?),
            };
            body["max_tokens"] = json!(max_tokens);
        }
        body["stream_options"] = match self.continuous_usage {
            true => json!({"include_usage": true, "continuous_usage_stats": true}),
            false => json!({"include_usage": true}),
        };
        if let Some(k) = request.sampling.top_k {
            body["top_k"] = json!(k);
        }
        if let Some(seed) = request.sampling.seed {
            body["seed"] = json!(seed);
        }
        if request.ignore_eos {
            body["ignore_eos"] = json!(true);
            body["min_tokens"] = json!(max_tokens);
        }
        Ok(body)
    }

    fn parse(&self, data: &str, counter: &mut TokenCounter) -> Result<Parsed, String> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(Parsed::Done);
        }
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
        let usage = value.get("usage").and_then(|u| u.get("completion_tokens"));
        let usage = count_field(usage, "usage.completion_tokens")?;
        let choice = value
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first());
        let Some(choice) = choice else {
            // The closing usage report: a chunk without choices.
            if let Some(total) = usage {
                counter.final_usage(total)?;
            }
            return Ok(Parsed::Tokens(0));
        };
        let text = match self.chat {
            true => choice.get("delta").and_then(|d| d.get("content")),
            false => choice.get("text"),
        }
        .and_then(Value::as_str);
        if let Some(answer) = counter.answer.as_mut() {
            answer.push(choice.get("token_ids"), text)?;
        }
        Ok(Parsed::Tokens(counter.chunk(usage, None, text)?))
    }

    /// vLLM's extension: each chunk's new ids in `choices[0].token_ids`.
    fn ask_for_token_ids(&self, body: &mut Value) {
        body["return_token_ids"] = json!(true);
    }

    fn needs_done_marker(&self) -> bool {
        true
    }

    fn version_path(&self) -> &'static str {
        "/version"
    }
}
