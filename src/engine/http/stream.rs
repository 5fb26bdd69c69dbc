//! One request's streaming task: POST, read the event stream, hand each chunk
//! with tokens to the driver, and end with either the final delivery or a
//! failure reason that says what happened.

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde_json::Value;
use tokenizers::Tokenizer;

use super::count::TokenCounter;
use super::sse::SseParser;
use super::{excerpt, Parsed, Protocol};
use crate::engine::{Event, RequestId};

/// Longest error body quoted in a failure reason.
const REASON_BODY_CHARS: usize = 200;

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Timeouts of one stream.
#[derive(Clone, Copy)]
pub(crate) struct Timeouts {
    pub first_token: Duration,
    pub idle: Duration,
}

/// What every streaming task needs, shared.
pub(crate) struct Shared {
    pub client: HttpClient,
    pub url: Uri,
    pub authorization: Option<HeaderValue>,
    pub protocol: Arc<dyn Protocol>,
    pub tokenizer: Option<Arc<Tokenizer>>,
    pub timeouts: Timeouts,
}

/// The whole life of one request: its events go to `tx`, ending with the
/// last delivery (after the token count's stats) or a `Failed` event.
pub(crate) async fn request(shared: Arc<Shared>, id: RequestId, body: Value, tx: Sender<Event>) {
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
