//! A streaming server that answers instantly: OpenAI-compatible
//! (`/v1/completions`, `/v1/chat/completions`, `/v1/models`, `/health`) and
//! Triton's `/v2/models/NAME/generate_stream`. It generates nothing: every
//! chunk is ready at once, so a client driving it measures only itself.
//!
//! It misbehaves on demand: the model name picks the behaviour of each
//! request (see [`Mode`]), so one server serves every failure-mode test.
//! `mixed:NAME` misbehaves as NAME on every other request it receives (the
//! first, third, ...) and answers the rest properly, each on a connection of
//! its own, so that a test can show the good requests of a run unharmed.
//! Used in-process by tests/http_engines.rs and as its own process by
//! examples/instant_server.rs (for the capacity benchmark and `vllm bench serve`).
//!
//! Most misbehaviours are bodies served by hyper. Those hyper cannot write
//! (slow or endless headers, a broken chunk size) are written by hand on the
//! raw connection: each connection's first request is read here before hyper
//! sees it, and handed on to hyper, unchanged, unless it asks for one of them.
#![allow(dead_code)] // each user needs a part

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What `/version` and `/v2` answer.
pub const VERSION: &str = "instant-1";

/// How the server treats one request, chosen by its model name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Streams the whole answer and ends properly.
    Ok,
    /// HTTP 400 with an error body.
    Http400,
    /// HTTP 503 with an error body.
    Http503,
    /// Two good chunks, then an event that is not JSON.
    Malformed,
    /// Two good chunks, then the connection is cut (no chunked-body end).
    Truncated,
    /// Two good chunks, then silence with the connection open.
    Stall,
    /// Headers, then silence: no first token ever.
    Silent,
    /// The whole answer, but the stream ends without `[DONE]`.
    NoDone,
    /// Two good chunks, then an `{"error": ...}` event.
    ErrorEvent,
    /// `data: xxxx...` without a line end, as fast as the client reads.
    EndlessLine,
    /// Comment lines without end, as fast as the client reads, no token ever.
    EndlessComments,
    /// Two good chunks, then a `: keep-alive` comment every 50 ms, forever.
    KeepAlive,
    /// Events with empty data every 50 ms, forever, no token ever.
    EndlessEmpty,
    /// Two good chunks, then a line that never ends, one byte every 50 ms.
    Drip,
    /// The whole response, status line and headers included, one byte a second.
    Slowloris,
    /// A status line, then header lines without end.
    HugeHeaders,
    /// One good chunk, then a chunk-size field too large for any integer.
    ChunkOverflow,
    /// Per-chunk usage that goes down (7, then 3).
    UsageDown,
    /// Per-chunk usage past the budget: 3 x max_tokens + 20 on the last chunk.
    UsageOver,
    /// Per-chunk usage of -5 tokens.
    UsageNegative,
    /// Per-chunk usage of 4,000,000,000 tokens.
    UsageAbsurd,
    /// Triton: one response carrying 100,000 output ids.
    IdsFlood,
    /// The whole answer, no `[DONE]`, the connection held open.
    NoDoneOpen,
    /// The answer gzip-encoded (`Content-Encoding: gzip`), unasked.
    Gzip,
}

impl Mode {
    pub fn from_model(name: &str) -> Self {
        match name {
            "http-400" => Self::Http400,
            "http-503" => Self::Http503,
            "malformed" => Self::Malformed,
            "truncated" => Self::Truncated,
            "stall" => Self::Stall,
            "silent" => Self::Silent,
            "no-done" => Self::NoDone,
            "error-event" => Self::ErrorEvent,
            "endless-line" => Self::EndlessLine,
            "endless-comments" => Self::EndlessComments,
            "keep-alive" => Self::KeepAlive,
            "endless-empty" => Self::EndlessEmpty,
            "drip" => Self::Drip,
            "slowloris" => Self::Slowloris,
            "huge-headers" => Self::HugeHeaders,
            "chunk-overflow" => Self::ChunkOverflow,
            "usage-down" => Self::UsageDown,
            "usage-over" => Self::UsageOver,
            "usage-negative" => Self::UsageNegative,
            "usage-absurd" => Self::UsageAbsurd,
            "ids-flood" => Self::IdsFlood,
            "no-done-open" => Self::NoDoneOpen,
            "gzip" => Self::Gzip,
            _ => Self::Ok,
        }
    }

    /// Modes written by hand on the raw connection.
    fn is_raw(self) -> bool {
        matches!(
            self,
            Self::Slowloris | Self::HugeHeaders | Self::ChunkOverflow
        )
    }
}

/// What the server saw, for tests to check.
#[derive(Debug, Default)]
pub struct Stats {
    /// Answers the client walked away from: a body dropped before its end
    /// (the client closed the connection), or a raw answer whose connection
    /// the client closed.
    pub abandoned: AtomicU64,
    /// Generation requests under a `mixed:` name.
    mixed: AtomicU64,
}

impl Stats {
    pub fn abandoned(&self) -> u64 {
        self.abandoned.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Tokens carried by each chunk.
    pub tokens_per_chunk: u32,
    /// Model id listed by `/v1/models`.
    pub model: String,
    /// When set, requests without `Authorization: Bearer KEY` get HTTP 401.
    pub api_key: Option<String>,
    pub stats: Arc<Stats>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tokens_per_chunk: 1,
            model: "instant".into(),
            api_key: None,
            stats: Arc::default(),
        }
    }
}

/// One request's behaviour: its mode, and whether to close the connection
/// after it (`mixed:` names, so that each of their requests comes on a new one).
#[derive(Clone, Copy, Debug)]
struct Decision {
    mode: Mode,
    close: bool,
}

impl Decision {
    /// Decides once per generation request (it counts `mixed:` ones).
    fn for_model(name: &str, stats: &Stats) -> Self {
        match name.strip_prefix("mixed:") {
            Some(inner) => {
                let nth = stats.mixed.fetch_add(1, Ordering::SeqCst);
                let mode = match nth % 2 {
                    0 => Mode::from_model(inner),
                    _ => Mode::Ok,
                };
                Self { mode, close: true }
            }
            None => Self {
                mode: Mode::from_model(name),
                close: false,
            },
        }
    }
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) {
    let config = Arc::new(config);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, config.clone()));
    }
}

async fn connection(mut stream: TcpStream, config: Arc<Config>) {
    let Ok(first) = read_first_request(&mut stream).await else {
        return;
    };
    let decision = first
        .model
        .as_deref()
        .map(|model| Decision::for_model(model, &config.stats));
    if let Some(decision) = decision.filter(|d| d.mode.is_raw()) {
        return raw_answer(stream, decision.mode, &config).await;
    }
    // hyper gets the bytes read so far back first; the first request's
    // decision is already made (a `mixed:` name counts once).
    let first_decision = Arc::new(Mutex::new(decision));
    let io = TokioIo::new(Prefixed {
        prefix: first.bytes,
        inner: stream,
    });
    let service = hyper::service::service_fn(move |request| {
        let config = config.clone();
        let decided = first_decision.lock().unwrap().take();
        async move { Ok::<_, Infallible>(handle(request, &config, decided).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// Starts a server on a free loopback port in a thread of its own; for tests.
pub fn spawn(config: Config) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            serve(listener, config).await;
        });
    });
    rx.recv().unwrap()
}

/// A connection's first request as read from the socket, before hyper.
struct FirstRequest {
    /// Every byte read, handed on to hyper unless the answer is raw.
    bytes: Vec<u8>,
    /// The model a generation request names (`None` for anything else).
    model: Option<String>,
}

/// Reads one request's head and body (by `Content-Length`), at most 16 MiB.
async fn read_first_request(stream: &mut TcpStream) -> std::io::Result<FirstRequest> {
    const MAX: usize = 16 << 20;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, body_len) = loop {
        if let Some(end) = find(&bytes, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
        if bytes.len() > MAX {
            return Ok(FirstRequest { bytes, model: None });
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&chunk[..n]);
    };
    while bytes.len() < head_end + body_len && bytes.len() <= MAX {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&bytes[..head_end]);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let body = bytes.get(head_end..head_end + body_len).unwrap_or(&[]);
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let model = generation_model(&path, &json);
    Ok(FirstRequest { bytes, model })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The model a generation request is for: in the body for OpenAI's
/// endpoints, in the path for Triton's.
fn generation_model(path: &str, json: &Value) -> Option<String> {
    if path == "/v1/completions" || path == "/v1/chat/completions" {
        return Some(
            json.get("model")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
        );
    }
    triton_model(path).map(str::to_string)
}

fn triton_model(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/models/")?
        .strip_suffix("/generate_stream")
}

/// A socket whose first reads return bytes already taken from it.
struct Prefixed {
    prefix: Vec<u8>,
    inner: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Answers that hyper would refuse to write, by hand; then the connection ends.
async fn raw_answer(mut stream: TcpStream, mode: Mode, config: &Config) {
    let walked_away = match mode {
        Mode::Slowloris => {
            let mut answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                               transfer-encoding: chunked\r\n\r\n"
                .to_vec();
            answer.extend(chunked(&[event(&json!({"choices": [{"text": "tok "}]}))]));
            let mut result = Ok(());
            for byte in answer {
                result = stream.write_all(&[byte]).await;
                if result.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            result.is_err()
        }
        Mode::HugeHeaders => {
            let mut result = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
                .await;
            let filler = format!("x-filler: {}\r\n", "a".repeat(1000));
            while result.is_ok() {
                result = stream.write_all(filler.as_bytes()).await;
            }
            true
        }
        Mode::ChunkOverflow => {
            let mut answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                               transfer-encoding: chunked\r\n\r\n"
                .to_vec();
            let good = event(&json!({"choices": [{"text": "tok "}],
                                     "usage": {"completion_tokens": 1}}));
            answer.extend(chunked(&[good]));
            // Twenty hex digits: 80 bits, more than any chunk size can hold.
            answer.extend_from_slice(b"fffffffffffffffffffff\r\n");
            let _ = stream.write_all(&answer).await;
            // Held open until the client gives up on it.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            true
        }
        _ => false,
    };
    if walked_away {
        config.stats.abandoned.fetch_add(1, Ordering::SeqCst);
    }
}

/// `frames` in HTTP/1.1 chunked framing, without the final chunk.
fn chunked(frames: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        out.extend(format!("{:x}\r\n", frame.len()).into_bytes());
        out.extend_from_slice(frame);
        out.extend_from_slice(b"\r\n");
    }
    out
}

async fn handle(
    request: Request<Incoming>,
    config: &Config,
    decided: Option<Decision>,
) -> Response<Frames> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if let Some(key) = &config.api_key {
        let sent = request.headers().get("authorization");
        if sent.and_then(|v| v.to_str().ok()) != Some(format!("Bearer {key}").as_str()) {
            return reply(
                StatusCode::UNAUTHORIZED,
                "{\"error\": \"missing or wrong API key\"}",
            );
        }
    }
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return reply(StatusCode::BAD_REQUEST, "cannot read the body"),
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let decide = |model: &str| decided.unwrap_or_else(|| Decision::for_model(model, &config.stats));
    // Answers to GETs close their connection, so that a client's next request
    // (perhaps for a raw answer) comes on a new one, through the door above.
    let closing = Decision {
        mode: Mode::Ok,
        close: true,
    };
    let mut response = match (method.as_str(), path.as_str()) {
        ("GET", "/health") => with_close(reply(StatusCode::OK, ""), closing),
        // vLLM's and Triton's version endpoints.
        ("GET", "/version") | ("GET", "/v2") => with_close(
            reply(
                StatusCode::OK,
                &json!({"name": "instant", "version": VERSION}).to_string(),
            ),
            closing,
        ),
        ("GET", "/v1/models") => with_close(
            reply(
                StatusCode::OK,
                &json!({"object": "list", "data": [{"id": config.model, "object": "model",
                        "owned_by": "instant", "root": config.model}]})
                .to_string(),
            ),
            closing,
        ),
        ("POST", "/v1/completions") | ("POST", "/v1/chat/completions") => {
            let model = json.get("model").and_then(Value::as_str).unwrap_or("");
            let decision = decide(model);
            let chat = path == "/v1/chat/completions";
            match decision.mode.is_raw() {
                true => raw_on_reused_connection(decision.mode),
                false => with_close(openai(&json, chat, decision.mode, config), decision),
            }
        }
        ("POST", p) if triton_model(p).is_some() => {
            let name = triton_model(p).unwrap_or("");
            let decision = decide(name);
            match decision.mode.is_raw() {
                true => raw_on_reused_connection(decision.mode),
                false => with_close(triton(&json, name, decision.mode, config), decision),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "not found"),
    };
    response.body_mut().stats = Some(config.stats.clone());
    response
}

/// A raw answer can only open a connection; asked for later on one, say so
/// rather than answer something else.
fn raw_on_reused_connection(mode: Mode) -> Response<Frames> {
    let message = format!("instant server: {mode:?} needs a new connection");
    reply(StatusCode::INTERNAL_SERVER_ERROR, &message)
}

fn with_close(mut response: Response<Frames>, decision: Decision) -> Response<Frames> {
    if decision.close {
        response.headers_mut().insert(
            "connection",
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    response
}

fn reply(status: StatusCode, text: &str) -> Response<Frames> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Frames::new(vec![Bytes::from(text.to_string())], End::Close))
        .unwrap()
}

fn error_reply(mode: Mode) -> Option<Response<Frames>> {
    let status = match mode {
        Mode::Http400 => StatusCode::BAD_REQUEST,
        Mode::Http503 => StatusCode::SERVICE_UNAVAILABLE,
        _ => return None,
    };
    let body = json!({"error": {"message": format!("instant server: {mode:?} on purpose"),
                       "code": status.as_u16()}});
    Some(reply(status, &body.to_string()))
}

fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// Output length asked for, under any of the protocols' names.
fn max_tokens(json: &Value) -> u32 {
    let field = ["max_tokens", "max_completion_tokens", "request_output_len"]
        .iter()
        .find_map(|k| json.get(*k));
    let value = match field {
        Some(Value::Array(items)) => items.first().and_then(Value::as_u64),
        Some(v) => v.as_u64(),
        None => None,
    };
    value.unwrap_or(16) as u32
}

/// Splits `n` tokens into chunks of `k` (the last may be shorter).
fn chunk_sizes(n: u32, k: u32) -> Vec<u32> {
    let k = k.max(1);
    (0..n.div_ceil(k)).map(|i| k.min(n - i * k)).collect()
}

/// The per-chunk usage a lying mode reports for chunk `i` of `last`, whose
/// true cumulative count is `total`.
fn lying_usage(mode: Mode, i: usize, last: usize, total: u32, budget: u32) -> Value {
    match (mode, i) {
        (Mode::UsageDown, 1) => json!(7),
        (Mode::UsageDown, 2) => json!(3),
        (Mode::UsageNegative, 1) => json!(-5),
        (Mode::UsageAbsurd, 1) => json!(4_000_000_000u64),
        (Mode::UsageOver, i) if i + 1 == last => json!(3 * budget + 20),
        _ => json!(total),
    }
}

fn openai(json: &Value, chat: bool, mode: Mode, config: &Config) -> Response<Frames> {
    let model = json.get("model").and_then(Value::as_str).unwrap_or("");
    if let Some(reply) = error_reply(mode) {
        return reply;
    }
    let prompt_tokens = match json.get("prompt") {
        Some(Value::Array(ids)) => ids.len(),
        Some(Value::String(text)) => text.split_whitespace().count(),
        _ => 1,
    };
    let stream_options = json.get("stream_options");
    let flag = |name: &str| {
        stream_options
            .and_then(|o| o.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let (include_usage, continuous) = (flag("include_usage"), flag("continuous_usage_stats"));
    let usage = |completion: Value| {
        let total = completion.as_i64().unwrap_or(0) + prompt_tokens as i64;
        json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion,
               "total_tokens": total})
    };
    let object = if chat {
        "chat.completion.chunk"
    } else {
        "text_completion"
    };
    let mut frames = Vec::new();
    if chat {
        let mut head = json!({"id": "cmpl-0", "object": object, "created": 0, "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                         "finish_reason": null}]});
        if continuous {
            head["usage"] = usage(json!(0));
        }
        frames.push(event(&head));
    }
    let budget = max_tokens(json);
    let sizes = chunk_sizes(budget, config.tokens_per_chunk);
    let last = sizes.len();
    // vLLM's `return_token_ids`: each chunk's new ids beside its text.
    let return_ids = json.get("return_token_ids") == Some(&json!(true));
    let mut total = 0;
    for (i, k) in sizes.into_iter().enumerate() {
        let ids: Vec<u32> = (total..total + k).map(|j| 10 + j % 50).collect();
        total += k;
        let text = "tok ".repeat(k as usize);
        let finish = if i + 1 == last {
            json!("length")
        } else {
            Value::Null
        };
        let mut choice = match chat {
            true => json!({"index": 0, "delta": {"content": text}, "finish_reason": finish}),
            false => json!({"index": 0, "text": text, "logprobs": null, "finish_reason": finish}),
        };
        if return_ids {
            choice["token_ids"] = json!(ids);
        }
        let mut chunk = json!({"id": "cmpl-0", "object": object, "created": 0, "model": model,
                               "choices": [choice]});
        if continuous {
            chunk["usage"] = usage(lying_usage(mode, i, last, total, budget));
        }
        frames.push(event(&chunk));
    }
    if include_usage {
        frames.push(event(
            &json!({"id": "cmpl-0", "object": object, "created": 0,
                                  "model": model, "choices": [], "usage": usage(json!(total))}),
        ));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    stream_response(frames, mode)
}

fn triton(json: &Value, name: &str, mode: Mode, config: &Config) -> Response<Frames> {
    if let Some(reply) = error_reply(mode) {
        return reply;
    }
    let ids = json.get("input_ids").is_some();
    let mut frames: Vec<Bytes> = chunk_sizes(max_tokens(json), config.tokens_per_chunk)
        .into_iter()
        .map(|k| {
            let mut chunk = json!({"model_name": name, "model_version": "1"});
            if ids {
                chunk["output_ids"] = json!(vec![7; k as usize]);
            } else {
                chunk["text_output"] = json!("tok ".repeat(k as usize));
            }
            event(&chunk)
        })
        .collect();
    if mode == Mode::IdsFlood {
        let flood = json!({"model_name": name, "model_version": "1",
                           "output_ids": vec![7; 100_000]});
        frames.insert(1.min(frames.len()), event(&flood));
    }
    stream_response(frames, mode)
}

/// Applies a streaming misbehaviour to a good answer.
fn stream_response(mut frames: Vec<Bytes>, mode: Mode) -> Response<Frames> {
    let keep_two = |frames: &mut Vec<Bytes>| frames.truncate(2);
    let every = |ms: u64| Some(Duration::from_millis(ms));
    let mut gzip = false;
    let end = match mode {
        Mode::Malformed => {
            keep_two(&mut frames);
            frames.push(Bytes::from_static(b"data: {\"choices\": [oops\n\n"));
            End::Close
        }
        Mode::Truncated => {
            keep_two(&mut frames);
            End::Cut
        }
        Mode::Stall => {
            keep_two(&mut frames);
            End::Hang
        }
        Mode::Silent => {
            frames.clear();
            End::Hang
        }
        Mode::NoDone => {
            frames.pop();
            End::Close
        }
        Mode::ErrorEvent => {
            keep_two(&mut frames);
            frames.push(event(
                &json!({"error": {"message": "instant server: error event",
                                                "code": 500}}),
            ));
            frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
            End::Close
        }
        Mode::EndlessLine => {
            frames = vec![Bytes::from_static(b"data: ")];
            End::Repeat(Bytes::from(vec![b'x'; 64 << 10]), None)
        }
        Mode::EndlessComments => {
            frames.clear();
            End::Repeat(Bytes::from(": keep-alive\n".repeat(1000)), None)
        }
        Mode::KeepAlive => {
            keep_two(&mut frames);
            End::Repeat(Bytes::from_static(b": keep-alive\n\n"), every(50))
        }
        Mode::EndlessEmpty => {
            frames.clear();
            End::Repeat(Bytes::from_static(b"data:\n\n"), every(50))
        }
        Mode::Drip => {
            keep_two(&mut frames);
            frames.push(Bytes::from_static(b"data: {\"choices\": [{\"text\": \""));
            End::Repeat(Bytes::from_static(b"x"), every(50))
        }
        Mode::NoDoneOpen => {
            // Triton has no end marker: its body just never ends.
            if frames
                .last()
                .is_some_and(|f| f.starts_with(b"data: [DONE]"))
            {
                frames.pop();
            }
            End::Hang
        }
        Mode::Gzip => {
            gzip = true;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            for frame in &frames {
                encoder.write_all(frame).unwrap();
            }
            frames = vec![Bytes::from(encoder.finish().unwrap())];
            End::Close
        }
        _ => End::Close,
    };
    let mut response = Response::builder().header("content-type", "text/event-stream");
    if gzip {
        response = response.header("content-encoding", "gzip");
    }
    response.body(Frames::new(frames, end)).unwrap()
}

/// How a body ends after its frames.
#[derive(Clone, PartialEq)]
enum End {
    /// Properly.
    Close,
    /// With an error, so the connection is cut mid-body.
    Cut,
    /// Never: the connection stays open with nothing more to say.
    Hang,
    /// Never: this frame again and again, at once or at this interval.
    Repeat(Bytes, Option<Duration>),
}

/// A body of ready frames, each written as its own chunk.
pub struct Frames {
    frames: VecDeque<Bytes>,
    end: End,
    /// Before a cut, a pause so that what came before reaches the client
    /// first; between repeats, the interval.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The body ended as planned (a hang or a repeat never does).
    done: bool,
    /// Where a body the client walked away from is counted.
    stats: Option<Arc<Stats>>,
}

impl Frames {
    fn new(frames: Vec<Bytes>, end: End) -> Self {
        Self {
            frames: frames.into(),
            pause: (end == End::Cut)
                .then(|| Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
            end,
            done: false,
            stats: None,
        }
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        if let (false, Some(stats)) = (self.done, &self.stats) {
            stats.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        if let Some(pause) = &mut self.pause {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        match self.end.clone() {
            End::Close => {
                self.done = true;
                Poll::Ready(None)
            }
            End::Cut => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other("cut on purpose"))))
            }
            // Never woken: the client's timeout or disconnect ends it.
            End::Hang => Poll::Pending,
            End::Repeat(frame, every) => {
                if let Some(every) = every {
                    self.pause = Some(Box::pin(tokio::time::sleep(every)));
                }
                Poll::Ready(Some(Ok(Frame::data(frame))))
            }
        }
    }
}
