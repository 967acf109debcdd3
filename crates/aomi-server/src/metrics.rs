//! Prometheus metrics of one instance, served at `GET /metrics` in the text exposition format.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `aomi_http_requests` | counter | `method`, `route` (the route's pattern), `status` |
//! | `aomi_http_request_duration_seconds` | histogram (to the response head; a stream's body is not timed) | `route` |
//! | `aomi_turns` | counter of ended turns | `outcome`: `finished`, `error`, `stopped`, `interrupted` |
//! | `aomi_turns_running` | gauge | |
//! | `aomi_turn_duration_seconds` | histogram | |
//! | `aomi_turn_first_text_seconds` | histogram: from the turn's start to its first text | |
//! | `aomi_tool_calls` | counter of finished tool calls | `tool`, `outcome`: `ok`, `error` |
//!
//! Labels are bounded: a method other than the standard nine is counted as `other`, and so is a
//! tool name that no app registers (a model can invent names).
//!
//! Access: with a token ([`AppState::metrics_token`], `AOMI_METRICS_TOKEN`) `/metrics` needs
//! `Authorization: Bearer <token>` (401 without it); without one it is open where sign-in is
//! optional and answers 404 where sign-in is required.
//!
//! Each [`Metrics`] has its own registry (no global recorder), so several servers in one process,
//! as in the tests, count apart.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aomi_core::UiChunk;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sha2::Digest;

use crate::api::ErrorBody;
use crate::auth::AuthMode;
use crate::{ApiError, AppState};

/// The label of a tool no app registers.
const OTHER: &str = "other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    outcome: String,
}

/// How a turn ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOutcome {
    /// It finished (with an answer, or waiting for a client tool).
    Finished,
    /// It ended with an error shown in the chat.
    Error,
    /// Its user stopped it.
    Stopped,
    /// A shutdown cut it off.
    Interrupted,
}

impl TurnOutcome {
    fn label(self) -> &'static str {
        match self {
            TurnOutcome::Finished => "finished",
            TurnOutcome::Error => "error",
            TurnOutcome::Stopped => "stopped",
            TurnOutcome::Interrupted => "interrupted",
        }
    }
}

fn seconds_histogram() -> Histogram {
    // 5 ms to about 80 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// The metrics of one instance.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    turns: Family<OutcomeLabels, Counter>,
    turns_running: Gauge,
    turn_duration: Histogram,
    first_text: Histogram,
    tool_calls: Family<ToolLabels, Counter>,
    /// The tools counted by name; others are `other`.
    known_tools: HashSet<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("aomi");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", http_requests.clone());
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route",
            http_duration.clone(),
        );
        let turns = Family::<OutcomeLabels, Counter>::default();
        registry.register("turns", "Chat turns ended, by outcome", turns.clone());
        let turns_running = Gauge::default();
        registry.register("turns_running", "Chat turns running on this instance", turns_running.clone());
        let turn_duration = seconds_histogram();
        registry.register("turn_duration_seconds", "Duration of chat turns", turn_duration.clone());
        let first_text = seconds_histogram();
        registry.register("turn_first_text_seconds", "Time from a turn's start to its first text", first_text.clone());
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register("tool_calls", "Tool calls finished, by tool and outcome", tool_calls.clone());
        Metrics {
            registry,
            http_requests,
            http_duration,
            turns,
            turns_running,
            turn_duration,
            first_text,
            tool_calls,
            known_tools: HashSet::new(),
        }
    }
}

impl Metrics {
    /// Metrics that count the calls of these tools by name, and of any other as `other`.
    pub fn with_tools(tools: impl IntoIterator<Item = String>) -> Self {
        Metrics { known_tools: tools.into_iter().collect(), ..Metrics::default() }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Starts watching a turn; count its parts with [`TurnWatch::observe`] and end it with
    /// [`TurnWatch::end`].
    pub fn turn(self: &Arc<Self>) -> TurnWatch {
        self.turns_running.inc();
        TurnWatch { metrics: Arc::clone(self), started: Instant::now(), seen: Mutex::default() }
    }

    fn request(&self, method: &str, route: &str, status: u16, started: Instant) {
        self.http_requests.get_or_create(&HttpLabels { method: method.into(), route: route.into(), status }).inc();
        self.http_duration.get_or_create(&RouteLabels { route: route.into() }).observe(started.elapsed().as_secs_f64());
    }
}

/// One running turn's metrics.
#[derive(Debug)]
pub struct TurnWatch {
    metrics: Arc<Metrics>,
    started: Instant,
    seen: Mutex<Seen>,
}

/// What a turn's parts showed so far.
#[derive(Debug, Default)]
struct Seen {
    first_text: bool,
    /// Tool names by call id, to count results by tool.
    tools: HashMap<String, String>,
}

impl TurnWatch {
    /// Counts what `chunk` finishes: the first text, a tool call's result.
    pub fn observe(&self, chunk: &UiChunk) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (call, outcome) = match chunk {
            UiChunk::TextDelta { .. } if !seen.first_text => {
                seen.first_text = true;
                self.metrics.first_text.observe(self.started.elapsed().as_secs_f64());
                return;
            }
            UiChunk::ToolInputStart { tool_call_id, tool_name }
            | UiChunk::ToolInputAvailable { tool_call_id, tool_name, .. } => {
                seen.tools.insert(tool_call_id.clone(), tool_name.clone());
                return;
            }
            UiChunk::ToolInputError { tool_call_id, tool_name, .. } => {
                seen.tools.insert(tool_call_id.clone(), tool_name.clone());
                (tool_call_id, "error")
            }
            UiChunk::ToolOutputAvailable { tool_call_id, preliminary: None | Some(false), .. } => (tool_call_id, "ok"),
            UiChunk::ToolOutputError { tool_call_id, .. } => (tool_call_id, "error"),
            _ => return,
        };
        if let Some(mut tool) = seen.tools.remove(call) {
            if !self.metrics.known_tools.contains(&tool) {
                OTHER.clone_into(&mut tool);
            }
            self.metrics.tool_calls.get_or_create(&ToolLabels { tool, outcome: outcome.into() }).inc();
        }
    }

    /// Ends the turn with this outcome.
    pub fn end(self, outcome: TurnOutcome) {
        self.metrics.turns_running.dec();
        self.metrics.turns.get_or_create(&OutcomeLabels { outcome: outcome.label().into() }).inc();
        self.metrics.turn_duration.observe(self.started.elapsed().as_secs_f64());
    }
}

/// Counts every request by its route's pattern (`/api/chats/{id}`, never the id itself).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| path.as_str()).to_owned();
    let response = next.run(request).await;
    state.metrics.request(&method, &route, response.status().as_u16(), started);
    response
}

/// The method's label: one of the standard methods, or `other`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD.iter().find(|standard| *standard == method).map_or(OTHER, Method::as_str)
}

/// GET /metrics, for the holder of the metrics token (see the module doc).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus metrics (OpenMetrics text): requests, turns, tool calls", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "AOMI_METRICS_TOKEN is set and the request does not carry it", body = ErrorBody),
        (status = 404, description = "Sign-in is required and no metrics token is set", body = ErrorBody),
    ))]
pub(crate) async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.metrics_token {
        Some(token) => {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            // Compared through hashes, so the time taken says nothing of the token.
            let digest = |text: &str| sha2::Sha256::digest(text.as_bytes());
            if given.map(digest) != Some(digest(token)) {
                let error = ApiError {
                    status: StatusCode::UNAUTHORIZED,
                    code: "unauthorized",
                    message: "/metrics needs Authorization: Bearer <the metrics token>".into(),
                };
                let mut response = error.into_response();
                response.headers_mut().insert(WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        None if state.auth.mode() == AuthMode::Required => {
            return ApiError::not_found("no route for GET /metrics").into_response();
        }
        None => {}
    }
    Response::builder()
        .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render().into())
        .unwrap_or_default()
}
