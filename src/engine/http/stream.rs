//! One request's streaming task: POST, read the event stream, hand each chunk
//! with tokens to the driver, and end with either the final delivery or a
//! failure reason that says what happened.
//!
//! Nothing a server sends can make a task hold unbounded memory or wait
//! without end: headers are bounded by hyper's limits (set in `mod.rs`), an
//! event by `max_event_bytes`, the whole body by the request's byte budget,
//! an error body and whatever follows the end marker by fixed small caps.
//! Timeouts measure progress, not bytes: the first-token deadline runs from
//! submission to the first event that carries tokens, the idle deadline from
//! the last such event; comments, empty events, events without tokens and the
//! bytes of an unfinished line move neither. Past any bound the task returns
//! its reason and drops the response, which closes the connection.

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde_json::Value;
use tokenizers::Tokenizer;
use tokio::time::Instant;

use super::answer::AnswerIds;
use super::count::TokenCounter;
use super::sse::SseParser;
use super::{excerpt, Parsed, Protocol};
use crate::engine::{Event, RequestId};

/// Longest error body quoted in a failure reason.
const REASON_BODY_CHARS: usize = 200;
/// Most bytes of an error body read to quote from; the rest is never read.
const ERROR_BODY_BYTES: usize = 4096;
/// Most bytes read after the end marker, to hand the connection back to the
/// pool; past it the connection is dropped instead.
const TAIL_BYTES: usize = 64 << 10;

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Timeouts of one stream.
#[derive(Clone, Copy)]
pub(crate) struct Timeouts {
    pub first_token: Duration,
    pub idle: Duration,
}

/// Bounds on what one stream may send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limits {
    /// Largest event (and line), `--engine-arg max_event_bytes`.
    pub max_event_bytes: usize,
    /// Body bytes allowed per output token asked for,
    /// `--engine-arg max_bytes_per_token`.
    pub max_bytes_per_token: u64,
    /// hyper's cap on the response head (status line and headers), in bytes.
    pub max_header_bytes: usize,
    /// hyper's cap on the number of response headers.
    pub max_headers: usize,
}

impl Limits {
    /// A request's byte budget: room for one largest event, plus
    /// `max_bytes_per_token` for each token asked for.
    pub fn byte_budget(&self, max_tokens: u32) -> u64 {
        (self.max_event_bytes as u64).saturating_add(
            self.max_bytes_per_token
                .saturating_mul(u64::from(max_tokens)),
        )
    }
}

/// What every streaming task needs, shared.
pub(crate) struct Shared {
    pub client: HttpClient,
    pub url: Uri,
    pub authorization: Option<HeaderValue>,
    pub protocol: Arc<dyn Protocol>,
    pub tokenizer: Option<Arc<Tokenizer>>,
    pub timeouts: Timeouts,
    pub limits: Limits,
}

/// The whole life of one request: its events go to `tx`, ending with the
/// last delivery (after the token count's stats) or a `Failed` event.
pub(crate) async fn request(
    shared: Arc<Shared>,
    id: RequestId,
    max_tokens: u32,
    body: Value,
    tx: Sender<Event>,
    answers: bool,
) {
    let mut counter = TokenCounter::new(shared.tokenizer.clone(), max_tokens);
    if answers {
        counter.answer = Some(AnswerIds::new(max_tokens));
    }
    let result = stream(&shared, id, max_tokens, body, &mut counter, &tx).await;
    // Sends fail only once the engine is gone; nobody is listening then.
    let _ = match &result {
        Ok(_) => {
            let mut stats = counter.stats();
            if let Some(answer) = counter.answer.take() {
                match answer.finish(shared.tokenizer.as_deref()) {
                    Ok((token_ids, source)) => {
                        stats["answer_ids"] = source.into();
                        let _ = tx.send(Event::Answer { id, token_ids });
                    }
                    Err(why) => stats["answer_ids_error"] = why.into(),
                }
            }
            tx.send(Event::EngineStats { id, stats }).and_then(|()| {
                tx.send(Event::Tokens {
                    id,
                    tokens: 0,
                    finished: true,
                })
            })
        }
        Err(reason) => tx.send(Event::Failed {
            id,
            reason: reason.clone(),
        }),
    };
    // Reading what follows the end marker (normally just the body's end)
    // lets the connection go back to the pool for the next request.
    if let Ok(Some(rest)) = result {
        drain(rest, TAIL_BYTES, shared.timeouts.idle).await;
    }
}

/// What a stream has sent since its last token, for timeout reasons.
#[derive(Default)]
struct SinceToken {
    bytes: u64,
    events: u64,
}

impl SinceToken {
    fn describe(&self) -> String {
        let events = match self.events {
            1 => "1 event".to_string(),
            n => format!("{n} events"),
        };
        format!("{} bytes and {events}", self.bytes)
    }
}

/// Streams one request, sending a `Tokens` event per chunk with tokens.
/// `Ok` holds the rest of the body after an end marker, `Err` the failure reason.
async fn stream(
    shared: &Shared,
    id: RequestId,
    max_tokens: u32,
    body: Value,
    counter: &mut TokenCounter,
    tx: &Sender<Event>,
) -> Result<Option<Incoming>, String> {
    let timeouts = shared.timeouts;
    let first_deadline = Instant::now() + timeouts.first_token;
    let no_first_token = |what: &str| {
        format!(
            "no token within first-token timeout {}s ({what})",
            timeouts.first_token.as_secs_f64()
        )
    };
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(shared.url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT_ENCODING, "identity");
    if let Some(key) = &shared.authorization {
        request = request.header(AUTHORIZATION, key.clone());
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let response = tokio::time::timeout_at(first_deadline, shared.client.request(request))
        .await
        .map_err(|_| no_first_token("no response headers yet"))?
        .map_err(|e| client_error(&e, &shared.url, &shared.limits))?;
    let status = response.status();
    let encoding = response.headers().get(CONTENT_ENCODING).cloned();
    let mut body = response.into_body();
    if !status.is_success() {
        let (bytes, cut) = read_at_most(&mut body, ERROR_BODY_BYTES, timeouts.idle).await;
        let text = String::from_utf8_lossy(&bytes);
        let mut quoted = excerpt(text.trim(), REASON_BODY_CHARS);
        if cut && !quoted.ends_with("...") {
            quoted.push_str("...");
        }
        return Err(format!("HTTP {}: {quoted}", status.as_u16()));
    }
    if let Some(encoding) = encoding.filter(|e| e.as_bytes() != b"identity") {
        return Err(format!(
            "response is Content-Encoding: {}, which was not asked for \
             (the request says Accept-Encoding: identity)",
            excerpt(&String::from_utf8_lossy(encoding.as_bytes()), 40)
        ));
    }
    let budget = shared.limits.byte_budget(max_tokens);
    let mut parser = SseParser::new(shared.limits.max_event_bytes);
    let mut payloads = Vec::new();
    let mut read: u64 = 0;
    let mut deadline = first_deadline;
    let mut since = SinceToken::default();
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let at_end = match frame {
            Err(_) if counter.delivered() > 0 => {
                let delivered = counter.delivered();
                let all_there =
                    delivered >= u64::from(max_tokens) && shared.protocol.needs_done_marker();
                return Err(format!(
                    "idle for {}s mid-stream: no token-bearing event after {delivered} tokens \
                     ({} since){}",
                    timeouts.idle.as_secs_f64(),
                    since.describe(),
                    match all_there {
                        true => "; every token asked for came, but no [DONE]",
                        false => "",
                    }
                ));
            }
            Err(_) => return Err(no_first_token(&format!("{} received", since.describe()))),
            Ok(None) => {
                parser.finish(&mut payloads)?;
                true
            }
            Ok(Some(Err(e))) => return Err(body_error(&e)),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    read = read.saturating_add(data.len() as u64);
                    since.bytes += data.len() as u64;
                    if read > budget {
                        return Err(format!(
                            "stream over its byte budget of {budget} bytes (max_event_bytes {} + \
                             max_bytes_per_token {} x max_tokens {max_tokens}): {read} bytes read, \
                             {} tokens",
                            shared.limits.max_event_bytes,
                            shared.limits.max_bytes_per_token,
                            counter.delivered()
                        ));
                    }
                    parser.push(&data, &mut payloads)?;
                }
                false
            }
        };
        for payload in payloads.drain(..) {
            since.events += 1;
            match shared.protocol.parse(&payload, counter)? {
                // Whatever follows the end marker is of no interest.
                Parsed::Done => return Ok(Some(body)),
                Parsed::Tokens(0) => {}
                Parsed::Tokens(tokens) => {
                    // Progress: only now do the timeouts start again.
                    deadline = Instant::now() + timeouts.idle;
                    since = SinceToken::default();
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

/// Up to `max` bytes of `body` within `wait`, and whether there was more.
async fn read_at_most(body: &mut Incoming, max: usize, wait: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        if let Ok(data) = frame.into_data() {
            let room = max - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room {
                return (bytes, true);
            }
        }
    }
    (bytes, false)
}

/// Reads and discards the rest of a body, at most `max` bytes within `wait`.
async fn drain(mut body: Incoming, max: usize, wait: Duration) {
    let deadline = Instant::now() + wait;
    let mut read = 0;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > max {
            return;
        }
    }
}

/// A client error before the response, as a failure reason: "connection
/// refused" and friends, and a response head past hyper's limits.
fn client_error(error: &hyper_util::client::legacy::Error, url: &Uri, limits: &Limits) -> String {
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
    if let Some(parse) = hyper_cause(error).filter(|e| e.is_parse()) {
        // hyper says which only in words (its test for it is server-side).
        return match parse.to_string().contains("too large") {
            true => format!(
                "response head over the client's limits ({} bytes, {} headers): {}",
                limits.max_header_bytes,
                limits.max_headers,
                root(error)
            ),
            false => format!("malformed response head: {}", root(error)),
        };
    }
    format!("request failed: {}", root(error))
}

/// An error reading the body: the connection lost, or a body that breaks
/// HTTP/1.1's framing (a chunk size that overflows, say).
fn body_error(error: &hyper::Error) -> String {
    let framing = std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData);
    match framing {
        true => format!("malformed HTTP body: {}", root(error)),
        false => format!("connection lost mid-stream: {}", root(error)),
    }
}

/// The hyper error inside a client error, if any.
fn hyper_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a hyper::Error> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return Some(hyper);
        }
        source = e.source();
    }
    None
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

    #[test]
    fn the_byte_budget_grows_with_the_output_budget_and_cannot_overflow() {
        let limits = Limits {
            max_event_bytes: 1 << 20,
            max_bytes_per_token: 1 << 16,
            max_header_bytes: 1 << 16,
            max_headers: 100,
        };
        assert_eq!(limits.byte_budget(0), 1 << 20);
        assert_eq!(limits.byte_budget(10), (1 << 20) + 10 * (1 << 16));
        let huge = Limits {
            max_bytes_per_token: u64::MAX,
            ..limits
        };
        assert_eq!(huge.byte_budget(u32::MAX), u64::MAX);
    }
}
