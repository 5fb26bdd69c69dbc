//! A streaming server that answers instantly: OpenAI-compatible
//! (`/v1/completions`, `/v1/chat/completions`, `/v1/models`, `/health`) and
//! Triton's `/v2/models/NAME/generate_stream`. It generates nothing: every
//! chunk is ready at once, so a client driving it measures only itself.
//!
//! It misbehaves on demand: the model name picks the behaviour of each
//! request (see [`Mode`]), so one server serves every failure-mode test.
//! Used in-process by tests/http_engines.rs and as its own process by
//! examples/instant_server.rs (for the capacity benchmark and `vllm bench serve`).
#![allow(dead_code)] // each user needs a part

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

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
            _ => Self::Ok,
        }
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tokens_per_chunk: 1,
            model: "instant".into(),
            api_key: None,
        }
    }
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: Config) {
    let config = std::sync::Arc::new(config);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let config = config.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let config = config.clone();
                async move { Ok::<_, Infallible>(handle(request, &config).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
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

async fn handle(request: Request<Incoming>, config: &Config) -> Response<Frames> {
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
    match (method.as_str(), path.as_str()) {
        ("GET", "/health") => reply(StatusCode::OK, ""),
        // vLLM's and Triton's version endpoints.
        ("GET", "/version") | ("GET", "/v2") => reply(
            StatusCode::OK,
            &json!({"name": "instant", "version": VERSION}).to_string(),
        ),
        ("GET", "/v1/models") => reply(
            StatusCode::OK,
            &json!({"object": "list", "data": [{"id": config.model, "object": "model",
                    "owned_by": "instant", "root": config.model}]})
            .to_string(),
        ),
        ("POST", "/v1/completions") => openai(&json, false, config),
        ("POST", "/v1/chat/completions") => openai(&json, true, config),
        ("POST", p) if p.starts_with("/v2/models/") && p.ends_with("/generate_stream") => {
            let name = &p["/v2/models/".len()..p.len() - "/generate_stream".len()];
            triton(&json, name, config)
        }
        _ => reply(StatusCode::NOT_FOUND, "not found"),
    }
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

fn openai(json: &Value, chat: bool, config: &Config) -> Response<Frames> {
    let model = json.get("model").and_then(Value::as_str).unwrap_or("");
    let mode = Mode::from_model(model);
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
    let usage = |completion: u32| {
        json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion,
               "total_tokens": prompt_tokens as u32 + completion})
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
            head["usage"] = usage(0);
        }
        frames.push(event(&head));
    }
    let sizes = chunk_sizes(max_tokens(json), config.tokens_per_chunk);
    let last = sizes.len();
    let mut total = 0;
    for (i, k) in sizes.into_iter().enumerate() {
        total += k;
        let text = "tok ".repeat(k as usize);
        let finish = if i + 1 == last {
            json!("length")
        } else {
            Value::Null
        };
        let choice = match chat {
            true => json!({"index": 0, "delta": {"content": text}, "finish_reason": finish}),
            false => json!({"index": 0, "text": text, "logprobs": null, "finish_reason": finish}),
        };
        let mut chunk = json!({"id": "cmpl-0", "object": object, "created": 0, "model": model,
                               "choices": [choice]});
        if continuous {
            chunk["usage"] = usage(total);
        }
        frames.push(event(&chunk));
    }
    if include_usage {
        frames.push(event(
            &json!({"id": "cmpl-0", "object": object, "created": 0,
                                  "model": model, "choices": [], "usage": usage(total)}),
        ));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    stream_response(frames, mode)
}

fn triton(json: &Value, name: &str, config: &Config) -> Response<Frames> {
    let mode = Mode::from_model(name);
    if let Some(reply) = error_reply(mode) {
        return reply;
    }
    let ids = json.get("input_ids").is_some();
    let frames = chunk_sizes(max_tokens(json), config.tokens_per_chunk)
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
    stream_response(frames, mode)
}

/// Applies a streaming misbehaviour to a good answer.
fn stream_response(mut frames: Vec<Bytes>, mode: Mode) -> Response<Frames> {
    let keep_two = |frames: &mut Vec<Bytes>| frames.truncate(2);
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
        _ => End::Close,
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Frames::new(frames, end))
        .unwrap()
}

/// How a body ends after its frames.
#[derive(Clone, Copy, PartialEq)]
enum End {
    /// Properly.
    Close,
    /// With an error, so the connection is cut mid-body.
    Cut,
    /// Never: the connection stays open with nothing more to say.
    Hang,
}

/// A body of ready frames, each written as its own chunk.
pub struct Frames {
    frames: VecDeque<Bytes>,
    end: End,
    /// Before a cut: a pause, so what came before reaches the client first.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Frames {
    fn new(frames: Vec<Bytes>, end: End) -> Self {
        Self {
            frames: frames.into(),
            end,
            pause: (end == End::Cut)
                .then(|| Box::pin(tokio::time::sleep(std::time::Duration::from_millis(50)))),
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
        match self.end {
            End::Close => Poll::Ready(None),
            End::Cut => Poll::Ready(Some(Err(std::io::Error::other("cut on purpose")))),
            // Never woken: the client's timeout or disconnect ends it.
            End::Hang => Poll::Pending,
        }
    }
}
