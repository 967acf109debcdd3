//! Limits on what one client can ask of the server: how often, how many at once, how big.
//!
//! | limit | default | answer past it |
//! |---|---|---|
//! | requests per second per client IP ([`Limits::ip_rate`], burst [`Limits::ip_burst`]) | 20/s, burst 200 | 429 `rate_limited` + `Retry-After` |
//! | requests per second per session: the `aomi_session` cookie, else the IP ([`Limits::session_rate`], [`Limits::session_burst`]) | 10/s, burst 100 | 429 `rate_limited` + `Retry-After` |
//! | running turns per wallet (per IP without one) ([`Limits::turns_per_client`]) | 8 | 429 `too_many_turns` + `Retry-After` |
//! | running turns on this instance ([`Limits::turns_total`]) | 256 | 503 `too_many_turns` + `Retry-After` |
//! | bytes of a user message, all parts' JSON ([`Limits::message_bytes`]) | 64 KiB | 413 `message_too_long` |
//! | messages per chat ([`Limits::messages_per_chat`]) | 1000 | 409 `chat_full` |
//! | followers per chat on `GET /api/chat/{id}/stream` ([`Limits::followers_per_chat`]) | 8 | 429 `too_many_followers` |
//! | messages per history read, `GET /api/chats/{id}` ([`Limits::history_page`]) | 1000 | the newest, `hasMore` |
//! | seconds a reader may leave written bytes untaken ([`Limits::write_timeout`]) | 30 | the connection is closed |
//!
//! The probes (`/healthz`, `/readyz`) are never rate limited. The client IP is the peer's address;
//! `X-Forwarded-For` names it only when the peer is one of [`Limits::trusted_proxies`] (none by
//! default), so that a client cannot pick its own key. The history sent to the model and the size
//! of tool outputs are limited where they are made (`aomi_agent::DefaultAppConfig`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aomi_core::backend::PartStream;
use aomi_core::{BoxFuture, UiChunk};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_io_timeout::TimeoutStream;

use crate::auth::session_token;
use crate::{ApiError, AppState};

/// The limits of one server. Every field has a documented default ([`Limits::default`]); a
/// rate, burst or count of 0 turns that limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second one client IP may make, sustained (20).
    pub ip_rate: u32,
    /// Requests one client IP may make at once before [`Limits::ip_rate`] applies (200).
    pub ip_burst: u32,
    /// Requests per second one session may make: the `aomi_session` cookie, or the client IP
    /// when the request has none (10).
    pub session_rate: u32,
    /// Requests one session may make at once before [`Limits::session_rate`] applies (100).
    pub session_burst: u32,
    /// Peers (reverse proxies) whose `X-Forwarded-For` header names the client (none).
    pub trusted_proxies: Vec<IpAddr>,
    /// Turns one wallet (or, without a wallet, one client IP) may run at once (8).
    pub turns_per_client: usize,
    /// Turns this instance runs at once (256).
    pub turns_total: usize,
    /// Bytes of a user message: the JSON of all its parts (64 KiB).
    pub message_bytes: usize,
    /// Messages a chat may hold; past it the chat takes no new user message (1000).
    pub messages_per_chat: usize,
    /// Readers of one chat's running turn on `GET /api/chat/{id}/stream` at once (8).
    pub followers_per_chat: usize,
    /// Most messages one `GET /api/chats/{id}` answers (1000).
    pub history_page: usize,
    /// How long a write to a client may wait (the client not taking its bytes) before the
    /// connection is closed (30 s); `None`: forever.
    pub write_timeout: Option<Duration>,
}

/// [`Limits::message_bytes`] unless configured.
pub const DEFAULT_MESSAGE_BYTES: usize = 64 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ip_rate: 20,
            ip_burst: 200,
            session_rate: 10,
            session_burst: 100,
            trusted_proxies: Vec::new(),
            turns_per_client: 8,
            turns_total: 256,
            message_bytes: DEFAULT_MESSAGE_BYTES,
            messages_per_chat: 1000,
            followers_per_chat: 8,
            history_page: 1000,
            write_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl Limits {
    /// No limit at all (for benchmarks that measure the server, not its limits).
    pub fn off() -> Self {
        Limits {
            ip_rate: 0,
            ip_burst: 0,
            session_rate: 0,
            session_burst: 0,
            trusted_proxies: Vec::new(),
            turns_per_client: 0,
            turns_total: 0,
            message_bytes: DEFAULT_MESSAGE_BYTES,
            messages_per_chat: 0,
            followers_per_chat: 0,
            history_page: 0,
            write_timeout: None,
        }
    }
}

/// A rate limiter's key for a session: a hash of its cookie (the cookie itself may be long), or
/// the client IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SessionKey {
    Cookie([u8; 16]),
    Ip(IpAddr),
}

/// How often (in requests) the rate limiters forget keys that are back to a full burst.
const FORGET_EVERY: u64 = 4096;

/// The limits and what they count: rate limiters, running turns, followers.
#[derive(Debug)]
pub struct LimitState {
    limits: Limits,
    ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    session: Option<DefaultKeyedRateLimiter<SessionKey>>,
    turns: Mutex<Counts>,
    followers: Mutex<HashMap<String, usize>>,
    requests: AtomicU64,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_client: HashMap<String, usize>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(rate: u32, burst: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let quota = Quota::per_second(NonZeroU32::new(rate)?).allow_burst(NonZeroU32::new(burst.max(1))?);
    Some(RateLimiter::keyed(quota))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Never held across an await or a call that can panic.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for LimitState {
    fn default() -> Self {
        LimitState::new(Limits::default())
    }
}

impl LimitState {
    /// The state of these limits.
    pub fn new(limits: Limits) -> Self {
        LimitState {
            ip: limiter(limits.ip_rate, limits.ip_burst),
            session: limiter(limits.session_rate, limits.session_burst),
            limits,
            turns: Mutex::default(),
            followers: Mutex::default(),
            requests: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The client of a request: its IP (see [`Limits::trusted_proxies`]) and session key.
    fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Client {
        let peer = peer.map(|addr| addr.ip());
        let ip = match peer {
            Some(peer) if self.limits.trusted_proxies.contains(&peer) => {
                forwarded_client(headers, &self.limits.trusted_proxies).unwrap_or(peer)
            }
            Some(peer) => peer,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        Client { ip }
    }

    /// Counts a request against its IP's and its session's rates; the wait when refused.
    fn check_rate(&self, client: &Client, headers: &HeaderMap) -> Result<(), Duration> {
        if self.requests.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            // Bounded memory: keys whose bucket is full again carry no information.
            for limiter in self.ip.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            for limiter in self.session.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        // The limiter's own clock: a new `DefaultClock` calibrates itself (CPUID) each time, which
        // cost 2% of a command turn's CPU when it was made per request.
        if let Some(limiter) = &self.ip {
            limiter.check_key(&client.ip).map_err(|refused| refused.wait_time_from(limiter.clock().now()))?;
        }
        if let Some(limiter) = &self.session {
            let key = session_token(headers)
                .map(|cookie| {
                    let mut key = [0u8; 16];
                    key.copy_from_slice(&Sha256::digest(cookie.as_bytes())[..16]);
                    SessionKey::Cookie(key)
                })
                .unwrap_or(SessionKey::Ip(client.ip));
            limiter.check_key(&key).map_err(|refused| refused.wait_time_from(limiter.clock().now()))?;
        }
        Ok(())
    }

    /// Admits a turn of `client` (a wallet address, or `ip:<address>`): refused past
    /// [`Limits::turns_per_client`] (429) or [`Limits::turns_total`] (503). The permit counts the
    /// turn until dropped.
    pub fn admit_turn(self: &Arc<Self>, client: String) -> Result<TurnPermit, ApiError> {
        let mut counts = lock(&self.turns);
        let total = self.limits.turns_total;
        if total > 0 && counts.total >= total {
            return Err(limited(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_turns",
                format!("the server is running {total} turns, its most at once; try again in a few seconds"),
            ));
        }
        let per_client = self.limits.turns_per_client;
        let running = counts.by_client.get(&client).copied().unwrap_or(0);
        if per_client > 0 && running >= per_client {
            return Err(limited(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_turns",
                format!("{per_client} turns of yours are running, the most at once; wait until one ends"),
            ));
        }
        counts.total += 1;
        *counts.by_client.entry(client.clone()).or_default() += 1;
        Ok(TurnPermit { state: Arc::clone(self), client })
    }

    /// Admits one more follower of `chat_id`'s running turn, refused (429) past
    /// [`Limits::followers_per_chat`]. The permit counts it until dropped.
    pub fn admit_follower(self: &Arc<Self>, chat_id: &str) -> Result<FollowerPermit, ApiError> {
        let mut followers = lock(&self.followers);
        let max = self.limits.followers_per_chat;
        let count = followers.entry(chat_id.to_owned()).or_default();
        if max > 0 && *count >= max {
            return Err(limited(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_followers",
                format!("{max} readers already follow this chat's turn, the most at once"),
            ));
        }
        *count += 1;
        Ok(FollowerPermit { state: Arc::clone(self), chat_id: chat_id.to_owned() })
    }
}

/// A 4xx/5xx with a `Retry-After` of a few seconds.
fn limited(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError { status, code, message }
}

/// Adds `Retry-After` to a refusal of [`LimitState::admit_turn`].
pub(crate) fn with_retry_after(error: ApiError, seconds: u64) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// A running turn, counted until dropped.
#[derive(Debug)]
pub struct TurnPermit {
    state: Arc<LimitState>,
    client: String,
}

impl Drop for TurnPermit {
    fn drop(&mut self) {
        let mut counts = lock(&self.state.turns);
        counts.total = counts.total.saturating_sub(1);
        if let Some(count) = counts.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.by_client.remove(&self.client);
            }
        }
    }
}

/// A follower of a chat's turn, counted until dropped.
#[derive(Debug)]
pub struct FollowerPermit {
    state: Arc<LimitState>,
    chat_id: String,
}

impl Drop for FollowerPermit {
    fn drop(&mut self) {
        let mut followers = lock(&self.state.followers);
        if let Some(count) = followers.get_mut(&self.chat_id) {
            *count -= 1;
            if *count == 0 {
                followers.remove(&self.chat_id);
            }
        }
    }
}

/// A part stream that holds a permit while it is read.
pub(crate) struct Permitted<P> {
    pub(crate) stream: Box<dyn PartStream>,
    pub(crate) _permit: P,
}

impl<P: Send> PartStream for Permitted<P> {
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>> {
        self.stream.next_part()
    }
}

/// The client a request comes from, as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// Its IP: the peer's, or the one a trusted proxy names.
    pub ip: IpAddr,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Set by [`limit_rate`]; a router without it serves every client as one.
        Ok(parts.extensions.get::<Client>().copied().unwrap_or(Client { ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED) }))
    }
}

/// The client a trusted proxy names: the last `X-Forwarded-For` address that is not itself a
/// trusted proxy (entries before it were written by the client and prove nothing).
fn forwarded_client(headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for hop in value.to_str().ok()?.split(',') {
            hops.push(hop.trim().parse().ok()?);
        }
    }
    hops.into_iter().rev().find(|hop| !trusted.contains(hop))
}

/// Paths that are never rate limited: the probes.
const UNLIMITED: [&str; 2] = ["/healthz", "/readyz"];

/// Refuses a request past its client's rate (429 `rate_limited`, with `Retry-After`), and
/// tells the handlers who the client is ([`Client`]).
pub(crate) async fn limit_rate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<ClientAddr>>().map(|info| info.0.0);
    let limits = &state.limits;
    let client = limits.client(peer, request.headers());
    if !UNLIMITED.contains(&request.uri().path())
        && let Err(wait) = limits.check_rate(&client, request.headers())
    {
        let seconds = wait.as_secs_f64().ceil() as u64;
        let error = limited(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this client; try again in {} s", seconds.max(1)),
        );
        return with_retry_after(error, seconds);
    }
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// The peer address of a connection accepted by a [`TimeoutListener`], for
/// `into_make_service_with_connect_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TimeoutListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TimeoutListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// A TCP listener whose connections fail a write that waits longer than the write timeout (a
/// client that does not take its bytes), which closes that connection alone: the turn it read,
/// and the other readers of that turn, go on. Idle connections are not affected (no write waits).
#[derive(Debug)]
pub struct TimeoutListener {
    inner: TcpListener,
    write_timeout: Option<Duration>,
}

impl TimeoutListener {
    /// Wraps `inner`; `write_timeout` `None` never times out.
    pub fn new(inner: TcpListener, write_timeout: Option<Duration>) -> Self {
        TimeoutListener { inner, write_timeout }
    }
}

impl Listener for TimeoutListener {
    type Io = std::pin::Pin<Box<TimeoutStream<TcpStream>>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, addr) = Listener::accept(&mut self.inner).await;
        // Stream parts are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
        // back until the client's delayed ACK (~40 ms on Linux), which `aomi bench` showed on
        // every turn of a reused connection.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let mut stream = TimeoutStream::new(tcp);
        stream.set_write_timeout(self.write_timeout);
        (Box::pin(stream), addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::headers;

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer = |ip: IpAddr| Some(SocketAddr::new(ip, 40000));
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        // By default no proxy is trusted: the peer is the client, whatever the header says.
        let open = LimitState::new(Limits::default());
        assert_eq!(open.client(peer(proxy), &spoofed).ip, proxy);
        let behind = LimitState::new(Limits { trusted_proxies: vec![proxy], ..Limits::default() });
        assert_eq!(behind.client(peer(proxy), &spoofed).ip, "1.2.3.4".parse::<IpAddr>().unwrap());
        // The client's own entries come first; the proxy appends the address it saw.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 5.6.7.8"), ("x-forwarded-for", "10.0.0.1")]);
        assert_eq!(behind.client(peer(proxy), &chain).ip, "5.6.7.8".parse::<IpAddr>().unwrap());
        // A peer that is not the proxy is not believed.
        let other: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(behind.client(peer(other), &spoofed).ip, other);
        // A malformed header falls back to the peer.
        assert_eq!(behind.client(peer(proxy), &headers(&[("x-forwarded-for", "nonsense")])).ip, proxy);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(session_token(&headers(&[("cookie", "a=1; aomi_session=tok; b=2")])), Some("tok"));
        assert_eq!(session_token(&headers(&[("cookie", "aomi_sessionx=1")])), None);
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn permits_count_until_dropped() {
        let state = Arc::new(LimitState::new(Limits { turns_per_client: 2, turns_total: 3, ..Limits::default() }));
        let a1 = state.admit_turn("a".into()).unwrap();
        let _a2 = state.admit_turn("a".into()).unwrap();
        assert_eq!(state.admit_turn("a".into()).unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
        let _b = state.admit_turn("b".into()).unwrap();
        assert_eq!(state.admit_turn("c".into()).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        drop(a1);
        assert!(state.admit_turn("a".into()).is_ok());
        let off = Arc::new(LimitState::new(Limits::off()));
        let many: Vec<_> = (0..100).map(|_| off.admit_turn("a".into()).unwrap()).collect();
        assert_eq!(many.len(), 100);
    }
}
