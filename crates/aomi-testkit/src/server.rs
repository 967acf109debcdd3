//! The HTTP server: routes, the script's state, and the responses.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::render::{self, Exchange, Plan};
use crate::script::{Conversation, Reply, Script, Timing};
use crate::{anthropic, conversation, openai};

/// The largest request body the stub reads (long conversations in
/// benchmarks can be large).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The model named in replies when a request names none.
const DEFAULT_MODEL: &str = "stub-model";

/// The wire protocol a request spoke, decided by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Anthropic Messages: `POST /v1/messages`.
    Anthropic,
    /// OpenAI chat completions: `POST /v1/chat/completions` or
    /// `POST /chat/completions`.
    OpenAi,
}

/// A request the stub received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The protocol it spoke.
    pub protocol: Protocol,
    /// The request path, such as `/v1/messages`.
    pub path: String,
    /// The request headers, names in lower case, in the order received
    /// (values that are not UTF-8 are left out).
    pub headers: Vec<(String, String)>,
    /// The JSON body; `null` when the body was not a JSON object (the stub
    /// answered 400).
    pub body: Value,
    /// The text of the last user message that carries text and no tool
    /// result.
    pub last_user_text: Option<String>,
    /// The text of the tool results the conversation ends with (those after
    /// the last user text message), joined by newlines; `None` when the
    /// conversation does not end with tool results.
    pub last_tool_result: Option<String>,
}

impl RecordedRequest {
    /// Whether the request asked for a streamed reply (`"stream": true`).
    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    /// The model the request named.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// The script and what happened so far.
#[derive(Debug)]
struct Played {
    script: Script,
    next_step: usize,
    requests: Vec<RecordedRequest>,
}

/// State shared by the handlers and the [`StubModel`] handle.
#[derive(Debug)]
struct Shared {
    played: Mutex<Played>,
    /// Becomes `true` when the server stops.
    stopped: watch::Receiver<bool>,
    /// Serial numbers for requests (response ids).
    requests: AtomicU64,
    /// Serial numbers for tool calls (call ids).
    calls: AtomicU64,
}

impl Shared {
    fn played(&self) -> MutexGuard<'_, Played> {
        self.played.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Completes when the server stops.
    fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stopped = self.stopped.clone();
        async move {
            // An error means the handle is gone, which stops the server too.
            let _ = stopped.wait_for(|stopped| *stopped).await;
        }
    }

    fn call_id(&self, protocol: Protocol) -> String {
        let serial = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        match protocol {
            Protocol::Anthropic => format!("toolu_{serial}"),
            Protocol::OpenAi => format!("call_{serial}"),
        }
    }
}

/// A running stub model server on `127.0.0.1` (or the address given to
/// [`StubModel::start_on`]). It stops when dropped: open streams end and
/// the port is released.
#[derive(Debug)]
pub struct StubModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl StubModel {
    /// Start a server on `127.0.0.1` with a random free port, answering with
    /// `script`. Must be called inside a Tokio runtime.
    pub async fn start(script: Script) -> std::io::Result<StubModel> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), script).await
    }

    /// Start a server on `addr` (port `0` picks a free port), answering
    /// with `script`.
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<StubModel> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            played: Mutex::new(Played { script, next_step: 0, requests: Vec::new() }),
            stopped,
            requests: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        });
        let app = router(shared.clone());
        let stopping = shared.stopping();
        // Small paced chunks must not wait for Nagle's algorithm.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "stub model: cannot set TCP_NODELAY");
            }
        });
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopping).await {
                tracing::warn!(%error, "stub model server failed");
            }
        });
        Ok(StubModel { addr, shared, stop })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for an Anthropic client (which
    /// appends `/v1/messages`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL for an Anthropic client; the same as [`Self::url`].
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL for an OpenAI-compatible
    /// client (which appends `/chat/completions`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.played().requests.clone()
    }

    /// Replace the script while running; the new script starts at its
    /// first step. The recorded requests are kept.
    pub fn set_script(&self, script: Script) {
        let mut played = self.shared.played();
        played.script = script;
        played.next_step = 0;
    }
}

impl Drop for StubModel {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/chat/completions", post(openai_chat))
        .route("/v1/responses", post(openai_responses))
        .route("/responses", post(openai_responses))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn anthropic_messages(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    answer(&shared, Protocol::Anthropic, uri.path(), &headers, &body).await
}

async fn openai_chat(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    answer(&shared, Protocol::OpenAi, uri.path(), &headers, &body).await
}

/// The Responses API is not served; say so in OpenAI's error shape.
async fn openai_responses() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &openai::error_body(
            404,
            "The stub model serves only chat completions (POST /v1/chat/completions) and the \
             Anthropic Messages API; configure the OpenAI client for chat completions.",
        ),
    )
}

async fn not_found(uri: Uri) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &openai::error_body(404, &format!("The stub model has no endpoint {}", uri.path())),
    )
}

/// Record the request, pick the reply and send it in `protocol`.
async fn answer(shared: &Shared, protocol: Protocol, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let serial = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let parsed = serde_json::from_slice::<Value>(body).ok().filter(Value::is_object);
    let conversation = match (&parsed, protocol) {
        (Some(body), Protocol::Anthropic) => conversation::anthropic(body),
        (Some(body), Protocol::OpenAi) => conversation::openai(body),
        (None, _) => Conversation::default(),
    };
    let record = RecordedRequest {
        protocol,
        path: path.to_owned(),
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: parsed.clone().unwrap_or(Value::Null),
        last_user_text: conversation.last_user_text.clone(),
        last_tool_result: conversation.last_tool_result.clone(),
    };
    let chosen = {
        let mut played = shared.played();
        played.requests.push(record);
        let Played { script, next_step, .. } = &mut *played;
        let limit = script.context_limit;
        parsed.as_ref().map(|body| {
            let reply = match limit {
                // The provider refuses a prompt over its context before anything else.
                Some(limit) if render::input_tokens(body) > limit => Err((limit, render::input_tokens(body))),
                _ => Ok(script.choose(next_step, &conversation)),
            };
            (reply, script.timing, script.openai_shape.clone())
        })
    };
    let (Some(body), Some((reply, timing, shape))) = (parsed, chosen) else {
        return error(protocol, 400, "The request body is not a JSON object.", serial);
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err((limit, tokens)) => return context_exceeded(protocol, limit, tokens, serial),
    };
    let exchange = Exchange {
        model: body.get("model").and_then(Value::as_str).unwrap_or(DEFAULT_MODEL).to_owned(),
        serial,
        input_tokens: render::input_tokens(&body),
        include_usage: body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true),
        shape,
    };
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    match reply {
        Reply::Text(text) => {
            respond(
                shared,
                protocol,
                Plan::new(Some(&text), &[], &timing, || shared.call_id(protocol)),
                timing,
                &exchange,
                stream,
            )
            .await
        }
        Reply::ToolCalls { text, calls } => {
            let plan = Plan::new(text.as_deref(), &calls, &timing, || shared.call_id(protocol));
            respond(shared, protocol, plan, timing, &exchange, stream).await
        }
        Reply::HttpError { status, message } => error(protocol, status, &message, serial),
        Reply::Malformed => malformed(protocol, stream, serial),
        Reply::Raw(chunks) => raw(protocol, stream, serial, chunks),
        Reply::Stall => stall(shared, protocol, &exchange, stream),
    }
}

/// A text or tool-call answer, streamed or whole.
async fn respond(
    shared: &Shared,
    protocol: Protocol,
    plan: Plan,
    timing: Timing,
    exchange: &Exchange,
    stream: bool,
) -> Response {
    if stream {
        let frames = match protocol {
            Protocol::Anthropic => anthropic::stream(&plan, exchange),
            Protocol::OpenAi => openai::stream(&plan, exchange),
        };
        let body = Body::from_stream(render::paced(frames, timing, shared.stopping()));
        return with_headers(protocol, StatusCode::OK, event_stream(), exchange.serial, body);
    }
    // A whole reply arrives when its last token would have.
    let due = timing.due(plan.chunk_count());
    if !due.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(due) => {}
            () = shared.stopping() => {}
        }
    }
    let body = match protocol {
        Protocol::Anthropic => anthropic::message(&plan, exchange),
        Protocol::OpenAi => openai::completion(&plan, exchange),
    };
    with_headers(protocol, StatusCode::OK, json_type(), exchange.serial, Body::from(body.to_string()))
}

/// The provider's error body with `status` (and `retry-after` for a 429).
fn error(protocol: Protocol, status: u16, message: &str, serial: u64) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match protocol {
        Protocol::Anthropic => anthropic::error_body(code.as_u16(), message, serial),
        Protocol::OpenAi => openai::error_body(code.as_u16(), message),
    };
    let mut response = with_headers(protocol, code, json_type(), serial, Body::from(body.to_string()));
    if code == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The provider's refusal of a prompt over the model's context: a 400 with the error each API
/// sends (OpenAI's `context_length_exceeded` code; Anthropic's "prompt is too long").
fn context_exceeded(protocol: Protocol, limit: u64, tokens: u64, serial: u64) -> Response {
    let body = match protocol {
        Protocol::OpenAi => serde_json::json!({"error": {
            "message": format!(
                "This model's maximum context length is {limit} tokens. However, your messages resulted in \
                 {tokens} tokens. Please reduce the length of the messages."
            ),
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }}),
        Protocol::Anthropic => {
            anthropic::error_body(400, &format!("prompt is too long: {tokens} tokens > {limit} maximum"), serial)
        }
    };
    with_headers(protocol, StatusCode::BAD_REQUEST, json_type(), serial, Body::from(body.to_string()))
}

/// `200`, then bytes that are not the protocol, then the connection closes.
fn malformed(protocol: Protocol, stream: bool, serial: u64) -> Response {
    let (content_type, body) = match (protocol, stream) {
        (Protocol::Anthropic, true) => (event_stream(), anthropic::MALFORMED_STREAM),
        (Protocol::Anthropic, false) => (json_type(), anthropic::MALFORMED_WHOLE),
        (Protocol::OpenAi, true) => (event_stream(), openai::MALFORMED_STREAM),
        (Protocol::OpenAi, false) => (json_type(), openai::MALFORMED_WHOLE),
    };
    let mut response = with_headers(protocol, StatusCode::OK, content_type, serial, Body::from(body));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `200`, then `chunks` as they are, each on its own, then the connection closes.
fn raw(protocol: Protocol, stream: bool, serial: u64, chunks: Vec<Vec<u8>>) -> Response {
    let content_type = if stream { event_stream() } else { json_type() };
    let body = Body::from_stream(futures::stream::iter(
        chunks.into_iter().map(|chunk| Ok::<_, std::convert::Infallible>(Bytes::from(chunk))),
    ));
    let mut response = with_headers(protocol, StatusCode::OK, content_type, serial, body);
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `200` and the headers (a stream's first event too), then nothing until
/// the server stops.
fn stall(shared: &Shared, protocol: Protocol, exchange: &Exchange, stream: bool) -> Response {
    let (content_type, frames) = match (protocol, stream) {
        (Protocol::Anthropic, true) => (event_stream(), anthropic::opening(exchange)),
        (Protocol::OpenAi, true) => (event_stream(), openai::opening(exchange)),
        (_, false) => (json_type(), Vec::new()),
    };
    let body = Body::from_stream(render::stalled(frames, shared.stopping()));
    with_headers(protocol, StatusCode::OK, content_type, exchange.serial, body)
}

fn event_stream() -> HeaderValue {
    HeaderValue::from_static("text/event-stream; charset=utf-8")
}

fn json_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// A response with the headers the provider sends: content type, no
/// caching, and its request-id header.
fn with_headers(
    protocol: Protocol,
    status: StatusCode,
    content_type: HeaderValue,
    serial: u64,
    body: Body,
) -> Response {
    let request_id = match protocol {
        Protocol::Anthropic => (HeaderName::from_static("request-id"), format!("req_stub{serial:020}")),
        Protocol::OpenAi => (HeaderName::from_static("x-request-id"), format!("req_stub{serial:020}")),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&request_id.1) {
        headers.insert(request_id.0, value);
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, json_type());
    response
}
