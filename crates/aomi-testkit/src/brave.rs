//! The stub web search: Brave Search's `GET /res/v1/web/search` and SearXNG's
//! `GET /search?format=json` on `127.0.0.1`, in each one's own JSON, so tests run aomi's real
//! search clients over real HTTP.
//!
//! Results are scripted per query ([`StubSearch::results`]; a query with no script gets the
//! [fallback](StubSearch::fallback), empty unless set). One-shot answers queued with [`StubSearch::then`] are used first, whatever the
//! query: Brave's 429 rate limit (with its `X-RateLimit-*` headers), a refused subscription token,
//! an HTTP 500. Brave's answers need the `X-Subscription-Token` header (422
//! `SUBSCRIPTION_TOKEN_INVALID` without it, as Brave answers). Every request is recorded.
//!
//! ```no_run
//! use aomi_testkit::{SearchHit, StubSearch, SearchReply};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let stub = StubSearch::start().await?;
//! stub.results("aave news", vec![SearchHit::new("Aave v4", "https://aave.com/blog", "The <strong>v4</strong> launch")]);
//! stub.then(SearchReply::RateLimited); // the next request, then the script
//! let brave = stub.brave_url(); // for BRAVE_BASE_URL
//! let searxng = stub.searxng_url(); // for AOMI_SEARXNG_URL
//! # let _ = (brave, searxng);
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::served::Served;

/// The path of Brave's web search.
pub const BRAVE_PATH: &str = "/res/v1/web/search";
/// The path of SearXNG's search.
pub const SEARXNG_PATH: &str = "/search";

/// One result, as the stub sends it (HTML in the snippet, as both engines send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The page's title.
    pub title: String,
    /// Its URL.
    pub url: String,
    /// The snippet (Brave's `description`, SearXNG's `content`), with `<strong>` tags.
    pub description: String,
    /// Brave's `age` ("2 days ago"); SearXNG's `publishedDate`.
    pub age: Option<String>,
}

impl SearchHit {
    /// A result without an age.
    pub fn new(title: &str, url: &str, description: &str) -> Self {
        SearchHit { title: title.into(), url: url.into(), description: description.into(), age: None }
    }

    /// The same result, `age` old.
    pub fn aged(mut self, age: &str) -> Self {
        self.age = Some(age.into());
        self
    }
}

/// A one-shot answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchReply {
    /// Brave's 429 `RATE_LIMITED` (SearXNG: a plain 429).
    RateLimited,
    /// Brave's 422 `SUBSCRIPTION_TOKEN_INVALID`.
    InvalidToken,
    /// An HTTP error status with an HTML body.
    HttpError(u16),
}

/// A request the stub received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// `"brave"` or `"searxng"`.
    pub engine: &'static str,
    /// Every query parameter.
    pub query: HashMap<String, String>,
    /// The `X-Subscription-Token` header, if sent.
    pub token: Option<String>,
}

#[derive(Debug, Default)]
struct Scripted {
    results: HashMap<String, Vec<SearchHit>>,
    fallback: Vec<SearchHit>,
    queue: VecDeque<SearchReply>,
    requests: Vec<SearchRequest>,
}

type Shared = Arc<Mutex<Scripted>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Scripted> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stub search server. Stops when dropped.
#[derive(Debug)]
pub struct StubSearch {
    server: Served,
    shared: Shared,
}

impl StubSearch {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Shared::default();
        let app = Router::new()
            .route(BRAVE_PATH, get(brave))
            .route(SEARXNG_PATH, get(searxng))
            .with_state(Arc::clone(&shared));
        let server = Served::start(app, "the stub search").await?;
        Ok(StubSearch { server, shared })
    }

    /// Brave's base URL: `http://127.0.0.1:PORT` (the client adds `/res/v1/web/search`).
    pub fn brave_url(&self) -> String {
        self.server.url()
    }

    /// SearXNG's base URL: `http://127.0.0.1:PORT` (the client adds `/search`).
    pub fn searxng_url(&self) -> String {
        self.server.url()
    }

    /// Answers `hits` to the query `query` (exact text), every time.
    pub fn results(&self, query: &str, hits: Vec<SearchHit>) {
        lock(&self.shared).results.insert(query.to_owned(), hits);
    }

    /// Answers `hits` to every query that has no script of its own.
    pub fn fallback(&self, hits: Vec<SearchHit>) {
        lock(&self.shared).fallback = hits;
    }

    /// Answers `reply` to the next request, before the script.
    pub fn then(&self, reply: SearchReply) {
        lock(&self.shared).queue.push_back(reply);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<SearchRequest> {
        lock(&self.shared).requests.clone()
    }
}

/// Records the request; the one-shot reply, or the scripted hits.
fn take(
    shared: &Shared,
    engine: &'static str,
    query: HashMap<String, String>,
    token: Option<String>,
) -> Result<Vec<SearchHit>, SearchReply> {
    let mut scripted = lock(shared);
    let q = query.get("q").cloned().unwrap_or_default();
    scripted.requests.push(SearchRequest { engine, query, token });
    match scripted.queue.pop_front() {
        Some(reply) => Err(reply),
        None => Ok(scripted.results.get(&q).cloned().unwrap_or_else(|| scripted.fallback.clone())),
    }
}

fn brave_error(status: StatusCode, code: &str, detail: &str, meta: Value) -> Response {
    let body = json!({
        "type": "ErrorResponse",
        "error": { "id": "5e5c4a0e-stub", "status": status.as_u16(), "code": code, "detail": detail, "meta": meta },
        "time": 1_764_000_000,
    });
    (status, axum::Json(body)).into_response()
}

async fn brave(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = headers.get("x-subscription-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let missing_token = token.as_deref().is_none_or(str::is_empty);
    let count = query.get("count").and_then(|c| c.parse::<usize>().ok()).unwrap_or(20);
    let q = query.get("q").cloned().unwrap_or_default();
    let hits = match take(&shared, "brave", query, token) {
        _ if missing_token => {
            return brave_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SUBSCRIPTION_TOKEN_INVALID",
                "The provided subscription token is invalid.",
                json!({}),
            );
        }
        Ok(hits) => hits,
        Err(SearchReply::RateLimited) => {
            let mut response = brave_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Request rate limit exceeded for plan.",
                json!({ "plan": "Free", "rate_limit": 1, "rate_current": 2, "quota_limit": 2000, "quota_current": 57, "component": "rate_limiter" }),
            );
            for (name, value) in [
                ("x-ratelimit-limit", "1, 2000"),
                ("x-ratelimit-remaining", "0, 1943"),
                ("x-ratelimit-reset", "1, 1419704"),
            ] {
                response.headers_mut().insert(name, axum::http::HeaderValue::from_static(value));
            }
            return response;
        }
        Err(SearchReply::InvalidToken) => {
            return brave_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SUBSCRIPTION_TOKEN_INVALID",
                "The provided subscription token is invalid.",
                json!({}),
            );
        }
        Err(SearchReply::HttpError(status)) => return html_error(status),
    };
    let results: Vec<Value> = hits
        .iter()
        .take(count)
        .map(|hit| {
            let host = hit.url.split('/').nth(2).unwrap_or_default();
            json!({
                "title": hit.title,
                "url": hit.url,
                "is_source_local": false,
                "is_source_both": false,
                "description": hit.description,
                "age": hit.age,
                "page_age": "2026-12-01T08:00:00",
                "profile": { "name": host, "url": hit.url, "long_name": host, "img": "" },
                "language": "en",
                "family_friendly": true,
                "type": "search_result",
                "subtype": "generic",
                "is_live": false,
                "meta_url": { "scheme": "https", "netloc": host, "hostname": host, "favicon": "", "path": "" },
            })
        })
        .collect();
    let mixed: Vec<Value> =
        (0..results.len()).map(|index| json!({ "type": "web", "index": index, "all": false })).collect();
    axum::Json(json!({
        "query": { "original": q, "show_strict_warning": false, "is_navigational": false, "is_news_breaking": false,
                   "spellcheck_off": true, "country": "us", "bad_results": false, "should_fallback": false,
                   "postal_code": "", "city": "", "header_country": "", "more_results_available": true, "state": "" },
        "mixed": { "type": "mixed", "main": mixed, "top": [], "side": [] },
        "type": "search",
        "web": { "type": "search", "results": results, "family_friendly": true },
    }))
    .into_response()
}

async fn searxng(State(shared): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Response {
    if query.get("format").map(String::as_str) != Some("json") {
        // SearXNG refuses formats its settings do not enable.
        return (StatusCode::FORBIDDEN, "403 Forbidden").into_response();
    }
    let q = query.get("q").cloned().unwrap_or_default();
    let hits = match take(&shared, "searxng", query, None) {
        Ok(hits) => hits,
        Err(SearchReply::RateLimited) => return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response(),
        Err(SearchReply::InvalidToken) => return (StatusCode::FORBIDDEN, "403 Forbidden").into_response(),
        Err(SearchReply::HttpError(status)) => return html_error(status),
    };
    let results: Vec<Value> = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            json!({
                "url": hit.url,
                "title": hit.title,
                "content": hit.description,
                "publishedDate": hit.age,
                "engine": "duckduckgo",
                "engines": ["duckduckgo", "brave"],
                "positions": [i + 1],
                "score": 2.0 / (i as f64 + 1.0),
                "category": "general",
                "parsed_url": ["https", hit.url.split('/').nth(2).unwrap_or_default(), "/", "", "", ""],
            })
        })
        .collect();
    axum::Json(json!({
        "query": q,
        "number_of_results": 0,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [],
        "unresponsive_engines": [],
    }))
    .into_response()
}

fn html_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, "<html><body>upstream error</body></html>").into_response()
}
