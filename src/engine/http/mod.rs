//! Engines behind an HTTP server: `openai` (OpenAI-compatible completions and
//! chat completions) and `triton` (Triton's `generate_stream`). What they share
//! lives here: the client, its small tokio runtime, the server-sent-events
//! parser, timeouts, failure reasons and token counting.
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

pub mod openai;
pub mod triton;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokenizers::Tokenizer;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use super::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineOptions, EngineRequest, Event,
    RequestId,
};
use crate::workload::tokenizer::load_file;

/// Longest error body quoted in a failure reason.
const REASON_BODY_CHARS: usize = 200;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

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
}

/// Settings both engines share, from the command line and `--engine-arg`.
#[derive(Clone)]
pub(crate) struct Common {
    pub model_name: String,
    pub url: Uri,
    pub tokenizer: Option<Arc<Tokenizer>>,
    pub client_threads: usize,
    /// `--engine-arg` keys left for the protocol, in order.
    pub args: Vec<(String, String)>,
}

impl Common {
    pub fn from_options(
        engine: &str,
        options: &EngineOptions,
        default_endpoint: &str,
    ) -> Result<Self, EngineConfigError> {
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
        let mut client_threads = 1;
        let mut args = Vec::new();
        for (key, value) in &options.args {
            if key == "client_threads" {
                client_threads = value
                    .parse()
                    .ok()
                    .filter(|&n| (1..=64).contains(&n))
                    .ok_or_else(|| {
                        EngineConfigError(format!(
                            "{engine} engine arg client_threads={value}: expected 1..64"
                        ))
                    })?;
            } else {
                args.push((key.clone(), value.clone()));
            }
        }
        Ok(Self {
            model_name,
            url,
            tokenizer,
            client_threads,
            args,
        })
    }

    /// Decodes a prompt for servers that take text.
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

/// `true`/`false` engine args.
pub(crate) fn parse_bool(engine: &str, key: &str, value: &str) -> Result<bool, EngineConfigError> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(EngineConfigError(format!(
            "{engine} engine arg {key}={value}: expected true or false"
        ))),
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
    fn new(tokenizer: Option<Arc<Tokenizer>>) -> Self {
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
    fn stats(&self) -> Value {
        json!({
            "token_count": self.method.map(CountMethod::name),
            "delivered_tokens": self.delivered,
            "usage_completion_tokens": self.final_usage,
            "usage_agrees": self.final_usage.map(|u| u == self.delivered),
        })
    }
}

/// Server-sent events, cut into `data` payloads. Only `data` lines matter to
/// these protocols; comments and other fields are skipped. Hand-written: the
/// format is a few lines of spec and the crates for it add an async stack of
/// their own.
#[derive(Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; appends every completed event's data to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out)?;
                self.line = line; // reuse the allocation
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
        Ok(())
    }

    /// At the end of the body: an event without its closing blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out)?;
        }
        out.extend(self.data.take());
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<String>) -> Result<(), String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            out.extend(self.data.take());
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| "malformed event: not UTF-8")?;
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(())
    }
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

/// Timeouts of one stream.
#[derive(Clone, Copy)]
struct Timeouts {
    first_token: Duration,
    idle: Duration,
}

/// What every streaming task needs, shared.
struct Shared {
    client: HttpClient,
    url: Uri,
    authorization: Option<HeaderValue>,
    protocol: Arc<dyn Protocol>,
    tokenizer: Option<Arc<Tokenizer>>,
    timeouts: Timeouts,
}

/// An engine behind an HTTP server, speaking `Protocol`.
pub struct HttpEngine {
    info: EngineInfo,
    runtime: Option<Runtime>,
    shared: Arc<Shared>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    tasks: HashMap<RequestId, AbortHandle>,
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
            }),
            tx,
            rx,
            tasks: HashMap::new(),
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
    let body = response.into_body().collect().await.ok()?.to_bytes();
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
        let body = self
            .shared
            .protocol
            .body(&request)
            .map_err(EngineError::Rejected)?;
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| EngineError::Fatal("the HTTP client was shut down".into()))?;
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        let task = runtime.spawn(async move {
            let mut counter = TokenCounter::new(shared.tokenizer.clone());
            let result = stream(&shared, id, body, &mut counter, &tx).await;
            // Sends fail only once the engine is gone; nobody is listening then.
            let _ = match &result {
                Ok(_) => tx
                    .send(Event::EngineStats {
                        id,
                        stats: counter.stats(),
                    })
                    .and_then(|()| {
                        tx.send(Event::Tokens {
                            id,
                            tokens: 0,
                            finished: true,
                        })
                    }),
                Err(reason) => tx.send(Event::Failed {
                    id,
                    reason: reason.clone(),
                }),
            };
            // Reading what follows the end marker (normally just the body's
            // end) lets the connection go back to the pool for the next request.
            if let Ok(Some(rest)) = result {
                let _ = tokio::time::timeout(shared.timeouts.idle, rest.collect()).await;
            }
        });
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

/// Streams one request, sending a `Tokens` event per chunk with tokens.
/// `Ok` holds the rest of the body after an end marker, `Err` the failure reason.
async fn stream(
    shared: &Shared,
    id: RequestId,
    body: Value,
    counter: &mut TokenCounter,
    tx: &Sender<Event>,
) -> Result<Option<Incoming>, String> {
    let timeouts = shared.timeouts;
    let first_deadline = tokio::time::Instant::now() + timeouts.first_token;
    let no_first_token = || {
        format!(
            "no token within first-token timeout {}s",
            timeouts.first_token.as_secs_f64()
        )
    };
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(shared.url.clone())
        .header(CONTENT_TYPE, "application/json");
    if let Some(key) = &shared.authorization {
        request = request.header(AUTHORIZATION, key.clone());
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let response = tokio::time::timeout_at(first_deadline, shared.client.request(request))
        .await
        .map_err(|_| no_first_token())?
        .map_err(|e| client_error(&e, &shared.url))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = tokio::time::timeout(timeouts.idle, body.collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        return Err(format!(
            "HTTP {}: {}",
            status.as_u16(),
            excerpt(text.trim(), REASON_BODY_CHARS)
        ));
    }
    let mut parser = SseParser::default();
    let mut payloads = Vec::new();
    let mut got_token = false;
    loop {
        let frame = if got_token {
            tokio::time::timeout(timeouts.idle, body.frame()).await
        } else {
            tokio::time::timeout_at(first_deadline, body.frame()).await
        };
        let at_end = match frame {
            Err(_) if got_token => {
                return Err(format!(
                    "idle for {}s mid-stream",
                    timeouts.idle.as_secs_f64()
                ))
            }
            Err(_) => return Err(no_first_token()),
            Ok(None) => {
                parser.finish(&mut payloads)?;
                true
            }
            Ok(Some(Err(e))) => return Err(format!("connection lost mid-stream: {}", root(&e))),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    parser.push(&data, &mut payloads)?;
                }
                false
            }
        };
        for payload in payloads.drain(..) {
            match shared.protocol.parse(&payload, counter)? {
                // Whatever follows the end marker is of no interest.
                Parsed::Done => return Ok(Some(body)),
                Parsed::Tokens(0) => {}
                Parsed::Tokens(tokens) => {
                    got_token = true;
                    let _ = tx.send(Event::Tokens {
                        id,
                        tokens,
                        finished: false,
                    });
                }
            }
        }
        if at_end {
            return match shared.protocol.needs_done_marker() {
                true => Err("stream ended before [DONE]".into()),
                false => Ok(None),
            };
        }
    }
}

/// A client error as a failure reason: "connection refused" and friends.
fn client_error(error: &hyper_util::client::legacy::Error, url: &Uri) -> String {
    let authority = url.authority().map_or("", |a| a.as_str());
    if error.is_connect() {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        format!("connection refused by {authority}")
                    }
                    std::io::ErrorKind::TimedOut => format!("connect timeout to {authority}"),
                    _ => format!("cannot connect to {authority}: {io}"),
                };
            }
            source = e.source();
        }
        return format!("cannot connect to {authority}: {}", root(error));
    }
    format!("request failed: {}", root(error))
}

/// The innermost cause of an error, which says what actually happened.
fn root(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    if std::ptr::eq(
        last as *const _ as *const u8,
        error as *const _ as *const u8,
    ) {
        error.to_string()
    } else {
        format!("{error}: {last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<String> {
        let mut parser = SseParser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk.as_bytes(), &mut out).unwrap();
        }
        parser.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn sse_events_split_anywhere() {
        assert_eq!(
            events(&["data: {\"a\"", ":1}\n\n: comment\n\ndata: [DONE]\r\n\r\n"]),
            vec!["{\"a\":1}", "[DONE]"]
        );
        assert_eq!(events(&["data: x\ndata: y\n\n"]), vec!["x\ny"]);
        assert_eq!(events(&["event: a\nid: 3\n\n"]), Vec::<String>::new());
        // The last event may lack its blank line when the body ends.
        assert_eq!(events(&["data: last"]), vec!["last"]);
    }

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

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("http://127.0.0.1:8000", "/v1/completions").is_ok());
        assert!(parse_url("http://127.0.0.1:8000/", "/v1/completions").is_ok());
        assert!(parse_url("https://x", "/v1/completions").is_err());
        assert!(parse_url("127.0.0.1:8000", "/v1/completions").is_err());
        assert!(parse_url("http://127.0.0.1:8000", "v1/completions").is_err());
    }
}
