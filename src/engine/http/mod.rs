//! Engines behind an HTTP server: `openai` (OpenAI-compatible completions and
//! chat completions) and `triton` (Triton's `generate_stream`). Here: the
//! settings both share, the client and its small tokio runtime, and the
//! [`Engine`] that hands requests to streaming tasks. Apart: the
//! server-sent-events parser (`sse`), token counting (`count`) and the
//! per-request streaming task with its failure reasons (`stream`).
//!
//! How a request flows: `submit` spawns one task that POSTs the request and
//! reads the event stream; every chunk that carries tokens becomes one
//! [`Event::Tokens`] sent over a channel, so a chunk of k tokens is one
//! delivery of k tokens. `poll` blocks on that channel, which wakes the driver
//! the moment a chunk lands: the driver's one clock read per poll is the
//! arrival time. Nothing here reads the clock for metrics; the runtime's timers
//! only enforce the timeouts.
//!
//! Plain HTTP/1.1 only (no TLS): the servers measured sit on loopback or a
//! cluster network, and leaving TLS out keeps the client lean and the build
//! small. Put a TLS-terminating proxy in front for a remote `https://` server.
//! The client is hyper 1 with hyper-util's pooled client, the layer reqwest is
//! built on; reqwest itself would add URL, IDNA and Unicode-table crates that
//! a client for one fixed URL does not need.

mod answer;
mod count;
pub mod openai;
mod sse;
mod stream;
pub mod triton;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokenizers::Tokenizer;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use self::count::TokenCounter;
use self::sse::DEFAULT_MAX_EVENT_BYTES;
use self::stream::{HttpClient, Limits, Shared, Timeouts};
use super::args::EngineArgs;
use super::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineOptions, EngineRequest, Event,
    RequestId,
};
use crate::workload::tokenizer::load_file;

/// The default of `--engine-arg max_bytes_per_token`: a body may carry this
/// much per output token asked for (plus one largest event). vLLM's chunks
/// are about 300 bytes per token with per-chunk usage, a few KiB with
/// logprobs; 64 KiB leaves room for any honest server and stops a flood.
const DEFAULT_MAX_BYTES_PER_TOKEN: u64 = 64 << 10;
/// hyper's limits on a response head, set here rather than left to its
/// defaults: 64 KiB of status line and headers (hyper's read buffer, which
/// also caps one read of the body), and 100 headers.
const MAX_HEADER_BYTES: usize = 64 << 10;
const MAX_HEADERS: usize = 100;
/// Most bytes of the version answer read at start-up.
const VERSION_BODY_BYTES: usize = 16 << 10;

/// What one streamed event said.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    /// New output tokens (0 for events that carry none, e.g. a role header).
    Tokens(u32),
    /// The stream's end marker (`[DONE]`).
    Done,
}

/// One wire protocol: how a request is written and how its events read.
pub(crate) trait Protocol: Send + Sync + 'static {
    /// The JSON body for one request.
    fn body(&self, request: &EngineRequest) -> Result<Value, String>;
    /// Interprets one event's `data`, counting tokens with `counter`.
    fn parse(&self, data: &str, counter: &mut TokenCounter) -> Result<Parsed, String>;
    /// Whether a stream must end with an explicit marker to count as complete.
    fn needs_done_marker(&self) -> bool;
    /// Where the server tells its version, as `{"version": "..."}`.
    fn version_path(&self) -> &'static str;
    /// Asks the server for the generated token ids, where the protocol can.
    fn ask_for_token_ids(&self, _body: &mut Value) {}
}

/// Settings both engines share, from the command line and `--engine-arg`.
#[derive(Clone)]
pub(crate) struct Common {
    pub model_name: String,
    pub url: Uri,
    pub tokenizer: Option<Arc<Tokenizer>>,
    pub client_threads: usize,
    pub limits: Limits,
}

impl Common {
    /// The shared settings, and the `--engine-arg` keys left for the protocol
    /// to take before it calls [`EngineArgs::finish`].
    pub fn from_options(
        engine: &str,
        options: &EngineOptions,
        default_endpoint: &str,
    ) -> Result<(Self, EngineArgs), EngineConfigError> {
        let mut args = EngineArgs::new(engine, &options.args);
        let http = &options.http;
        let model_name = http
            .served_model_name
            .clone()
            .or_else(|| options.model.as_ref().map(|m| m.display().to_string()))
            .ok_or_else(|| {
                EngineConfigError(format!(
                    "--engine {engine} needs --model (the served model name) or --served-model-name"
                ))
            })?;
        let endpoint = http
            .endpoint
            .clone()
            .unwrap_or_else(|| default_endpoint.replace("{model}", &model_name));
        let url = parse_url(&http.base_url, &endpoint)?;
        let tokenizer = options
            .tokenizer
            .as_deref()
            .map(|path| load_file(path).map_err(EngineConfigError))
            .transpose()?
            .map(Arc::new);
        // At most 64: in range for usize everywhere.
        let client_threads = args.take_u64_in("client_threads", 1..=64)?.unwrap_or(1) as usize;
        // A 1 KiB floor keeps a typo from failing every request; the ceilings
        // keep the budgets' products far from overflow and a typo from
        // lifting the bound altogether.
        let max_event_bytes = args
            .take_u64_in("max_event_bytes", 1 << 10..=1 << 30)?
            .map_or(DEFAULT_MAX_EVENT_BYTES, |n| n as usize);
        let max_bytes_per_token = args
            .take_u64_in("max_bytes_per_token", 16..=1 << 24)?
            .unwrap_or(DEFAULT_MAX_BYTES_PER_TOKEN);
        let limits = Limits {
            max_event_bytes,
            max_bytes_per_token,
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: MAX_HEADERS,
        };
        let common = Self {
            model_name,
            url,
            tokenizer,
            client_threads,
            limits,
        };
        Ok((common, args))
    }

    /// What every HTTP engine says of itself; the version is the server's,
    /// asked for at start-up, and the client's own goes in the settings.
    pub fn engine_info(
        &self,
        name: &str,
        options: &EngineOptions,
        settings: BTreeMap<String, String>,
    ) -> EngineInfo {
        EngineInfo {
            name: name.into(),
            version: String::new(),
            simulated: false,
            model: None,
            tensor_parallel_size: options.tensor_parallel_size,
            max_model_len: None,
            vocab_size: self
                .tokenizer
                .as_ref()
                .map(|t| t.get_vocab_size(true) as u32),
            settings,
        }
    }

    /// Decodes a prompt for servers that take text.
    pub fn prompt_text(&self, ids: &[u32]) -> Result<String, String> {
        let tokenizer = self
            .tokenizer
            .as_ref()
            .ok_or("text prompts need --tokenizer")?;
        tokenizer
            .decode(ids, false)
            .map_err(|e| format!("cannot decode the prompt: {e}"))
    }
}

/// `http://host:port` + `/path`; anything else is a usage error.
fn parse_url(base: &str, endpoint: &str) -> Result<Uri, EngineConfigError> {
    let bad = |why: &str| EngineConfigError(format!("--base-url '{base}': {why}"));
    if base.starts_with("https://") {
        return Err(bad(
            "https is not supported (plain HTTP only; put a TLS-terminating proxy in front)",
        ));
    }
    if !base.starts_with("http://") {
        return Err(bad("expected http://HOST:PORT"));
    }
    if !endpoint.starts_with('/') {
        return Err(EngineConfigError(format!(
            "--endpoint '{endpoint}': expected a path starting with /"
        )));
    }
    let text = format!("{}{endpoint}", base.trim_end_matches('/'));
    let uri: Uri = text.parse().map_err(|e| bad(&format!("{e}")))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(uri)
}

/// The first characters of `text`, for failure reasons.
pub(crate) fn excerpt(text: &str, chars: usize) -> String {
    let mut cut: String = text.chars().take(chars).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

/// An error `message` inside a JSON event, if it is one.
pub(crate) fn error_in(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    Some(match error {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), str::to_string),
    })
}

/// An engine behind an HTTP server, speaking `Protocol`.
pub struct HttpEngine {
    info: EngineInfo,
    runtime: Option<Runtime>,
    shared: Arc<Shared>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    tasks: HashMap<RequestId, AbortHandle>,
    /// Hand over each request's generated ids (conversations).
    answers: bool,
}

impl HttpEngine {
    pub(crate) fn new(
        common: Common,
        protocol: Arc<dyn Protocol>,
        options: &EngineOptions,
        mut info: EngineInfo,
    ) -> Result<Self, EngineConfigError> {
        let http = &options.http;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(common.client_threads)
            .thread_name("enginebench-http")
            .enable_all()
            .build()
            .map_err(|e| EngineConfigError(format!("cannot start the HTTP client: {e}")))?;
        let client = {
            let _context = runtime.enter();
            let mut connector = HttpConnector::new();
            connector.set_connect_timeout(Some(http.connect_timeout));
            connector.set_nodelay(true);
            Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(usize::MAX)
                .http1_max_buf_size(common.limits.max_header_bytes)
                .http1_max_headers(common.limits.max_headers)
                .build(connector)
        };
        let authorization = api_key_header(&http.api_key_env)?;
        // Best effort, bounded: a server that is down fails each request later
        // with its reason, not the start-up.
        let probe = server_version(
            &client,
            &common.url,
            protocol.version_path(),
            authorization.as_ref(),
        );
        let wait = http.connect_timeout.min(Duration::from_secs(5));
        info.version = runtime
            .block_on(async { tokio::time::timeout(wait, probe).await.ok().flatten() })
            .unwrap_or_else(|| "unknown".into());
        let settings = &mut info.settings;
        settings.insert("client_version".into(), env!("CARGO_PKG_VERSION").into());
        settings.insert("url".into(), common.url.to_string());
        settings.insert("client_threads".into(), common.client_threads.to_string());
        let limits = common.limits;
        for (key, value) in [
            ("max_event_bytes", limits.max_event_bytes as u64),
            ("max_bytes_per_token", limits.max_bytes_per_token),
            ("max_header_bytes", limits.max_header_bytes as u64),
            ("max_headers", limits.max_headers as u64),
        ] {
            settings.insert(key.into(), value.to_string());
        }
        settings.insert(
            "api_key".into(),
            match authorization {
                Some(_) => format!("from ${}", http.api_key_env),
                None => format!("none (${} unset)", http.api_key_env),
            },
        );
        for (key, value) in [
            ("connect_timeout_s", http.connect_timeout),
            ("first_token_timeout_s", http.first_token_timeout),
            ("idle_timeout_s", http.idle_timeout),
        ] {
            settings.insert(key.into(), value.as_secs_f64().to_string());
        }
        info.model = Some(common.model_name.clone());
        let (tx, rx) = mpsc::channel();
        Ok(Self {
            info,
            runtime: Some(runtime),
            shared: Arc::new(Shared {
                client,
                url: common.url.clone(),
                authorization,
                protocol,
                tokenizer: common.tokenizer.clone(),
                timeouts: Timeouts {
                    first_token: http.first_token_timeout,
                    idle: http.idle_timeout,
                },
                limits,
            }),
            tx,
            rx,
            tasks: HashMap::new(),
            answers: false,
        })
    }
}

/// The server's version from `GET path` (`{"version": "..."}`), if it says.
async fn server_version(
    client: &HttpClient,
    url: &Uri,
    path: &str,
    authorization: Option<&HeaderValue>,
) -> Option<String> {
    let uri = Uri::builder()
        .scheme(url.scheme()?.clone())
        .authority(url.authority()?.clone())
        .path_and_query(path)
        .build()
        .ok()?;
    let mut request = Request::builder().method(Method::GET).uri(uri);
    if let Some(key) = authorization {
        request = request.header(AUTHORIZATION, key.clone());
    }
    let response = client
        .request(request.body(Full::new(Bytes::new())).ok()?)
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = http_body_util::Limited::new(response.into_body(), VERSION_BODY_BYTES)
        .collect()
        .await
        .ok()?
        .to_bytes();
    let value: Value = serde_json::from_slice(&body).ok()?;
    value.get("version")?.as_str().map(str::to_string)
}

/// `Authorization: Bearer <key>` from the environment, marked sensitive so
/// that it never shows in debug output.
fn api_key_header(variable: &str) -> Result<Option<HeaderValue>, EngineConfigError> {
    let Some(key) = std::env::var_os(variable) else {
        return Ok(None);
    };
    let key = key.to_str().filter(|k| !k.is_empty());
    let Some(key) = key else {
        return Ok(None);
    };
    let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
        EngineConfigError(format!(
            "${variable} holds characters not allowed in a header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

impl Engine for HttpEngine {
    fn describe(&self) -> EngineInfo {
        self.info.clone()
    }

    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        let id = request.id;
        let protocol = &self.shared.protocol;
        let mut body = protocol.body(&request).map_err(EngineError::Rejected)?;
        if self.answers {
            protocol.ask_for_token_ids(&mut body);
        }
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| EngineError::Fatal("the HTTP client was shut down".into()))?;
        let task = runtime.spawn(stream::request(
            self.shared.clone(),
            id,
            request.max_output_tokens,
            body,
            self.tx.clone(),
            self.answers,
        ));
        self.tasks.insert(id, task.abort_handle());
        Ok(())
    }

    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let first = match self.rx.recv_timeout(timeout) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => return Ok(()),
            // Unreachable while `self.tx` lives.
            Err(RecvTimeoutError::Disconnected) => {
                return Err(EngineError::Fatal("the HTTP client stopped".into()))
            }
        };
        let start = events.len();
        events.push(first);
        events.extend(self.rx.try_iter());
        for event in &events[start..] {
            match event {
                Event::Tokens {
                    id, finished: true, ..
                }
                | Event::Failed { id, .. } => {
                    self.tasks.remove(id);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every protocol can: from the ids a server sends (vLLM's
    /// `return_token_ids`, Triton's `output_ids`), else `--tokenizer` over
    /// the streamed text; a request whose answer cannot be read says so in
    /// its engine stats, and the round after it fails.
    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        self.answers = true;
        Ok(())
    }

    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        // Aborting the task drops its connection, which tells the server to stop.
        if let Some(task) = self.tasks.remove(&id) {
            task.abort();
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        for (_, task) in self.tasks.drain() {
            task.abort();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
        Ok(())
    }
}

impl Drop for HttpEngine {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("http://127.0.0.1:8000", "/v1/completions").is_ok());
        assert!(parse_url("http://127.0.0.1:8000/", "/v1/completions").is_ok());
        assert!(parse_url("https://x", "/v1/completions").is_err());
        assert!(parse_url("127.0.0.1:8000", "/v1/completions").is_err());
        assert!(parse_url("http://127.0.0.1:8000", "v1/completions").is_err());
    }
}
