//! The HTTP/SSE chat backend.
//!
//! [`Backend`] implements [`ChatBackend`](aomi_core::ChatBackend): it claims the chat in the store
//! (one turn per chat, across every instance that shares the store), stores the user message
//! before the model is called, runs the turn on its own task (a client that disconnects does not
//! stop it; `POST /api/chat/{id}/stop` does, see [`Backend::stop_turn`]), records every part into a [`TurnLog`](turn_log::TurnLog) that any number of readers
//! on this instance follow from the first part, and commits the assistant message each time a
//! step completes (and every second while a long text streams). On a shared store (PostgreSQL)
//! it also publishes the parts, so that `GET /api/chat/{id}/stream` on another instance follows
//! the turn. A turn cut off by an error or a shutdown is stored marked incomplete (and one its user
//! stopped, also marked stopped); one cut off by a crash is marked when the crash is noticed (at
//! start-up, or when its lease expires).
//! [`router`] serves it over HTTP as the AI SDK UI message stream protocol, and the built web page
//! for every other path when [`ServerConfig::web_dir`] is set.

pub mod api;
pub mod auth;
mod backend;
pub mod batches;
pub mod compaction;
pub mod contract_cache;
mod error;
mod follow;
pub mod guards;
pub mod headers;
pub mod knowledge;
pub mod limits;
pub mod mcp;
pub mod metrics;
mod routes;
mod runner;
mod sse;
pub mod telegram;
mod title;
pub mod transactions;
pub mod turn_log;
mod web;

/// Helpers shared by the crate's unit tests.
#[cfg(test)]
mod test_support {
    use axum::http::HeaderMap;

    /// A header map from name/value pairs (a name may repeat).
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aomi_core::ChatBackend;
use aomi_store::{AuthStore, ContractStore, TelegramStore};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio_util::task::TaskTracker;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use aomi_core::StopOutcome;
pub use backend::{Backend, BackendOptions, DEFAULT_SHUTDOWN_GRACE, DEFAULT_UNIT_SETTLE};
pub use error::ApiError;
pub use routes::openapi;
pub use title::Titler;

/// Largest request body accepted, in bytes, unless configured otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The state every handler receives. The handlers reach chats only through the
/// [`ChatBackend`] trait; the two parts of the store they need besides (sessions, contracts) are
/// named here explicitly.
#[derive(Clone)]
pub struct AppState {
    /// The chat backend: turns, their streams, the history.
    pub backend: Arc<dyn ChatBackend>,
    /// Sign-in nonces and session generations.
    pub auth_store: Arc<dyn AuthStore>,
    /// The contract database, as `GET /api/contracts/{chain}/{address}` reads it.
    pub contracts: Arc<dyn ContractStore>,
    /// The Telegram bot's links, which `POST /api/telegram/link` redeems.
    pub telegram: Arc<dyn TelegramStore>,
    /// The chats' pending batches, as the page's batch routes read and change them.
    pub batches: Arc<dyn aomi_store::BatchStore>,
    /// This instance's metrics (`GET /metrics`).
    pub metrics: Arc<metrics::Metrics>,
    /// The tasks the handlers spawn that must end before the process does (a turn's admission
    /// permit, held until the turn ends); the backend's own tracker.
    pub tasks: TaskTracker,
    /// The networks, for routes that read the chain (`POST /api/simulate`); `None` serves them
    /// as unavailable.
    pub chain: Option<Arc<aomi_chain::ChainSessions>>,
    /// Sign-in with the wallet, and whether requests must use it.
    pub auth: Arc<auth::Auth>,
    /// The limits on what one client may ask, and what they count.
    pub limits: Arc<limits::LimitState>,
    /// The bearer token `GET /metrics` needs; without one, `/metrics` is open where sign-in is
    /// optional and absent (404) where it is required.
    pub metrics_token: Option<Arc<str>>,
    /// aomi's MCP server, served at `/mcp` (streamable HTTP) when set.
    pub mcp: Option<Arc<mcp::McpServer>>,
    /// Each wallet's spend guards (`/api/guards`).
    pub guards: Arc<dyn aomi_store::GuardStore>,
    /// The most allow-list entries a wallet may save.
    pub guards_max_allowed: usize,
}

impl AppState {
    /// The state of a backend without a chain layer: its store answers sign-in and the contract
    /// database.
    pub fn new(backend: Arc<Backend>) -> Self {
        let store = Arc::clone(backend.store());
        AppState {
            guards: Arc::clone(&store) as Arc<dyn aomi_store::GuardStore>,
            guards_max_allowed: aomi_tools::guard::DEFAULT_MAX_ALLOWED,
            auth_store: Arc::clone(&store) as Arc<dyn AuthStore>,
            telegram: Arc::clone(&store) as Arc<dyn TelegramStore>,
            batches: Arc::clone(&store) as Arc<dyn aomi_store::BatchStore>,
            contracts: store as Arc<dyn ContractStore>,
            metrics: Arc::clone(backend.metrics()),
            tasks: backend.tasks().clone(),
            backend,
            chain: None,
            auth: Arc::new(auth::Auth::default()),
            limits: Arc::default(),
            metrics_token: None,
            mcp: None,
        }
    }

    /// The same state serving `server` at `/mcp`.
    pub fn with_mcp(mut self, server: Arc<mcp::McpServer>) -> Self {
        self.mcp = Some(server);
        self
    }

    /// The same state with these limits.
    pub fn with_limits(mut self, limits: limits::Limits) -> Self {
        self.limits = Arc::new(limits::LimitState::new(limits));
        self
    }

    /// The same state with `/metrics` behind this bearer token (`None`: see
    /// [`AppState::metrics_token`]).
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token.filter(|token| !token.is_empty()).map(Arc::from);
        self
    }

    /// The same state with this sign-in setting.
    pub fn with_auth(mut self, auth: auth::Auth) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// The same state letting a wallet save at most `max` allow-list entries.
    pub fn with_guards_max_allowed(mut self, max: usize) -> Self {
        self.guards_max_allowed = max;
        self
    }

    /// The same state with the chain layer.
    pub fn with_chain(mut self, chain: Arc<aomi_chain::ChainSessions>) -> Self {
        self.chain = Some(chain);
        self
    }
}

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The built web page to serve at `/` (`index.html` and its assets); none serves only the API.
    pub web_dir: Option<PathBuf>,
    /// The security headers of every answer (the page's Content-Security-Policy and others).
    pub headers: headers::SecurityHeaders,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: DEFAULT_BODY_LIMIT,
            web_dir: None,
            headers: headers::SecurityHeaders::default(),
        }
    }
}

/// The HTTP routes of aomi.
pub fn router(state: AppState, config: &ServerConfig) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let mut routes = routes::routes();
    if let Some(mcp) = &state.mcp {
        // MCP over streamable HTTP, behind the same layers as every route (rate limits, origin
        // check, metrics) and its own guard: who the caller is, decided as everywhere.
        let service = mcp.http_service(&state, config.body_limit);
        routes = routes.merge(
            Router::new()
                .route_service("/mcp", service)
                .layer(axum::middleware::from_fn_with_state(state.clone(), mcp::guard)),
        );
    }
    let routes = match &config.web_dir {
        Some(dir) => routes.fallback_service(web::assets(dir)),
        None => routes,
    };
    routes
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::same_origin))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit_rate))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        // Every log line of a request (and the access line below) carries its request id: the
        // client's or proxy's `x-request-id`, else a new UUID, answered in the same header.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                .on_response(|response: &axum::http::Response<_>, latency: std::time::Duration, _: &tracing::Span| {
                    let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
                    tracing::info!(status = response.status().as_u16(), latency_ms = millis, "answered");
                }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Outermost, so that every answer has them, errors of the layers above included.
        .layer(axum::middleware::from_fn_with_state(Arc::new(config.headers.clone()), headers::add))
}

/// Binds `config.bind` and serves until `shutdown` completes. Returns the bound address through
/// `on_bound` first (the port may have been 0).
pub async fn serve(
    state: AppState,
    config: ServerConfig,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let bound = listener.local_addr()?;
    // Without a configured public URL, sign-in names the address actually bound (the port may
    // have been 0).
    state.auth.bind_to(bound);
    on_bound(bound);
    // A reader that leaves its bytes untaken is cut off; the peer address keys the rate limits.
    let listener = limits::TimeoutListener::new(listener, state.limits.limits().write_timeout);
    let app = router(state, &config).into_make_service_with_connect_info::<limits::ClientAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
