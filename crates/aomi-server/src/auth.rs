//! Sign-in with the wallet ("Sign-In with Ethereum", EIP-4361).
//!
//! The page asks for a challenge (`POST /api/auth/challenge`): an EIP-4361 message naming this
//! server's public host (from configuration, never from the request), the wallet's address, a
//! fresh nonce and an expiry, with a token that binds them. The wallet signs the message
//! (`personal_sign`); `POST /api/auth/verify` checks the token, that the message is the one
//! issued, that it has not expired, that its nonce was not used before, and that the wallet
//! signed it — by its key, or, for a smart-contract wallet, by EIP-1271 (deployed) or ERC-6492
//! (not deployed yet) on the challenge's chain — and sets an HttpOnly session cookie.
//!
//! Tokens are HMAC-SHA256-sealed claims, each sealed for its [`TokenKind`]: a challenge never
//! opens as a session. Any instance sharing the secret (`AOMI_AUTH_SECRET`, at least 32 bytes)
//! accepts them. Two facts live in the store so they hold across instances: used nonces (a
//! signed message opens one session) and each wallet's session generation (signing out
//! everywhere ends every older session).
//!
//! A session makes a request speak for its wallet. In [`AuthMode::Optional`] (the default, for a
//! local single-user aomi) a request without a session may still name a wallet with `?owner=` or
//! `wallet.address`; in [`AuthMode::Required`] (any deployment others can reach) every route that
//! reads, changes or spends needs a session.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aomi_chain::Connection;
use aomi_chain::alloy::primitives::{Address, hex};
use aomi_chain::signature::{SignatureError, SignedBy};
use aomi_store::{AuthStore, StoreError};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "aomi_session";

/// The shortest `AOMI_AUTH_SECRET` accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// How long a signed-in session lasts.
const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the wallet has to sign a challenge.
const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// What the message asks the person to agree to.
const STATEMENT: &str =
    "Sign in to aomi to open your chat history. This signature costs nothing and sends no transaction.";

/// Whether a request must prove the wallet it speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// A session proves the wallet; without one, a request may still name it (local use).
    #[default]
    Optional,
    /// Every route that reads, changes or spends needs a session.
    Required,
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "optional" => Ok(AuthMode::Optional),
            "required" => Ok(AuthMode::Required),
            other => Err(format!("auth must be \"optional\" or \"required\", not \"{other}\"")),
        }
    }
}

/// How sign-in is set up.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Whether requests must sign in.
    pub mode: AuthMode,
    /// The key that seals tokens (at least [`MIN_SECRET_BYTES`]); instances behind one address
    /// share it. `None`: a random key of this process (sessions end when it restarts).
    pub secret: Option<String>,
    /// The address people open aomi at (`https://aomi.example`): the sign-in message's domain and
    /// URI, and the only `Host`/`Origin` sign-in accepts. `None`: the address the server is bound
    /// to (see [`Auth::bind_to`]).
    pub public_url: Option<String>,
    /// Whether the session cookie is `Secure`. `None`: when the public URL is `https`.
    pub secure_cookie: Option<bool>,
}

/// Why a sign-in setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// The secret is too short to resist guessing.
    #[error(
        "AOMI_AUTH_SECRET is {0} bytes long; it must be at least {MIN_SECRET_BYTES} (for example the output of `openssl rand -hex 32`)"
    )]
    ShortSecret(usize),
    /// The public URL is not an origin.
    #[error("AOMI_PUBLIC_URL \"{url}\" {reason}")]
    PublicUrl {
        /// What was configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The challenge token is not one this server issued (or was altered).
    #[error("this sign-in challenge was not issued by this server; ask for a new one")]
    UnknownChallenge,
    /// The challenge expired before it was signed and sent back.
    #[error("the sign-in challenge expired; ask for a new one")]
    Expired,
    /// The signed message is not the message of the challenge.
    #[error("the signed message is not the one this server issued")]
    MessageMismatch,
    /// The message opened a session already.
    #[error("this signed message was used already; ask for a new challenge")]
    Replayed,
    /// The signature is malformed, another key's, or refused by the contract wallet.
    #[error("the signature is not {expected}'s: {reason}")]
    BadSignature {
        /// The wallet that should have signed.
        expected: String,
        /// What was wrong.
        reason: String,
    },
    /// The wallet's chain could not be asked (a contract wallet's check).
    #[error("the signature could not be checked: {0}")]
    Unverifiable(String),
    /// The store failed.
    #[error("sign-in is unavailable: {0}")]
    Store(String),
}

impl SignInError {
    /// The HTTP status: the client's mistakes are 401, the server's 503.
    pub fn status(&self) -> StatusCode {
        match self {
            SignInError::Unverifiable(_) | SignInError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl From<StoreError> for SignInError {
    fn from(error: StoreError) -> Self {
        SignInError::Store(error.to_string())
    }
}

/// An issued challenge: the message to sign and the token to send back with the signature.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The EIP-4361 message.
    pub message: String,
    /// Binds the message, the address, the chain, the nonce and the expiry; opaque to the client.
    pub challenge: String,
    /// When the challenge expires (Unix seconds).
    pub expires_at: u64,
}

/// A session the verify step opened.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The wallet, lower case.
    pub address: String,
    /// How the wallet proved itself.
    pub signed_by: SignedBy,
    /// The cookie's value.
    pub token: String,
    /// When the session ends (Unix seconds).
    pub expires_at: u64,
}

/// What a sealed token is for: part of what its MAC covers, so one kind never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Challenge,
    Session,
}

impl TokenKind {
    fn domain(self) -> &'static [u8] {
        match self {
            TokenKind::Challenge => b"aomi sign-in challenge\0",
            TokenKind::Session => b"aomi session\0",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ChallengeClaims {
    /// The wallet, lower case.
    a: String,
    /// SHA-256 of the message, hex.
    h: String,
    /// The chain id of the message (a contract wallet is asked on it).
    c: u64,
    /// The nonce of the message.
    n: String,
    /// Expiry, Unix seconds.
    e: u64,
}

#[derive(Serialize, Deserialize)]
struct SessionClaims {
    /// The wallet, lower case.
    a: String,
    /// The wallet's session generation when the session was opened.
    g: u64,
    /// Expiry, Unix seconds.
    e: u64,
}

/// Where people open aomi: the sign-in message's domain and URI, and the `Host`/`Origin` values
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    /// `http` or `https`.
    scheme: String,
    /// The accepted `Host` values (`host[:port]`); the first is the canonical one.
    hosts: Vec<String>,
}

impl PublicOrigin {
    /// The origin of a configured public URL (`https://aomi.example`, with no path).
    pub fn parse(text: &str) -> Result<Self, AuthConfigError> {
        let invalid = |reason| AuthConfigError::PublicUrl { url: text.to_owned(), reason };
        let url = url::Url::parse(text).map_err(|_| invalid("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must start with http:// or https://"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must be an origin only (no path, query or fragment): aomi is served at /"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("may not carry a user name or password"));
        }
        let host = url.host_str().ok_or_else(|| invalid("has no host"))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(PublicOrigin { scheme: url.scheme().to_owned(), hosts: vec![host] })
    }

    /// The origin of a server bound to `addr` and reached directly: on a loopback address, the
    /// names a browser on this machine uses for it too.
    pub fn bound(addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut hosts = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            for alias in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
                if !hosts.contains(&alias) {
                    hosts.push(alias);
                }
            }
        }
        PublicOrigin { scheme: "http".into(), hosts }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The accepted `Host` values (`host[:port]`), the canonical one first.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// True for an `https` origin.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The `Host` this request came to, when it is one of ours.
    fn host_of<'a>(&'a self, headers: &HeaderMap) -> Option<&'a str> {
        let host = headers.get(HOST)?.to_str().ok()?;
        self.hosts.iter().find(|ours| ours.eq_ignore_ascii_case(host)).map(String::as_str)
    }

    /// True when `origin` (an `Origin` header's value) is one of ours.
    fn accepts_origin(&self, origin: &str) -> bool {
        self.hosts.iter().any(|host| origin.eq_ignore_ascii_case(&format!("{}://{host}", self.scheme)))
    }
}

/// Sign-in: issues challenges, opens sessions, and says which wallet a request speaks for.
#[derive(Clone)]
pub struct Auth {
    mode: AuthMode,
    key: Vec<u8>,
    configured: Option<PublicOrigin>,
    bound: Arc<OnceLock<PublicOrigin>>,
    secure_cookie: Option<bool>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("mode", &self.mode).field("origin", &self.origin()).finish_non_exhaustive()
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth::random_key(AuthMode::default(), None)
    }
}

impl Auth {
    /// Sign-in as configured; refuses a short secret or a public URL that is not an origin.
    pub fn new(config: AuthConfig) -> Result<Self, AuthConfigError> {
        let configured = config.public_url.as_deref().map(PublicOrigin::parse).transpose()?;
        let key = match &config.secret {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => return Err(AuthConfigError::ShortSecret(secret.len())),
            Some(secret) => Sha256::digest(secret.as_bytes()).to_vec(),
            None => random_key(),
        };
        Ok(Auth { mode: config.mode, key, configured, bound: Arc::default(), secure_cookie: config.secure_cookie })
    }

    /// Sign-in in `mode` with a key of this process's own (tests, local use).
    pub fn random_key(mode: AuthMode, public_url: Option<PublicOrigin>) -> Self {
        Auth { mode, key: random_key(), configured: public_url, bound: Arc::default(), secure_cookie: None }
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Records the address the server is bound to: the public origin when none is configured.
    pub fn bind_to(&self, addr: SocketAddr) {
        let _ = self.bound.set(PublicOrigin::bound(addr));
    }

    /// Where people open aomi, once known.
    pub fn origin(&self) -> Option<&PublicOrigin> {
        self.configured.as_ref().or_else(|| self.bound.get())
    }

    /// Whether the session cookie carries `Secure`.
    pub fn secure_cookie(&self) -> bool {
        self.secure_cookie.unwrap_or_else(|| self.origin().is_some_and(PublicOrigin::is_https))
    }

    /// The domain (`host[:port]`) and URI a sign-in requested with `headers` names: refused
    /// unless its `Host` (and its `Origin`, when sent) are this server's public ones, so that no
    /// other site can have a wallet sign a message that opens a session here.
    pub fn sign_in_origin(&self, headers: &HeaderMap) -> Result<(String, String), ApiError> {
        let origin = self.origin().ok_or_else(|| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "public_url_unset",
            message: "sign-in needs the server's public address: set AOMI_PUBLIC_URL".into(),
        })?;
        let host = origin.host_of(headers).ok_or_else(|| wrong_origin(origin, "Host"))?;
        if let Some(sent) = headers.get(ORIGIN)
            && !sent.to_str().is_ok_and(|sent| origin.accepts_origin(sent))
        {
            return Err(wrong_origin(origin, "Origin"));
        }
        Ok((host.to_owned(), format!("{}://{host}", origin.scheme)))
    }

    /// Refuses a state-changing request that carries a session cookie but comes from another
    /// site's page (`Origin` not ours): the cookie is SameSite=Strict already; this also covers
    /// sibling subdomains, which count as the same site.
    pub fn check_request_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let (Some(origin), Some(sent)) = (self.origin(), headers.get(ORIGIN)) else { return Ok(()) };
        if session_token(headers).is_none() || sent.to_str().is_ok_and(|sent| origin.accepts_origin(sent)) {
            return Ok(());
        }
        Err(wrong_origin(origin, "Origin"))
    }

    /// A challenge for `address` on `chain_id`, for the page at `domain` (`host[:port]`) served
    /// from `uri`.
    pub fn challenge(&self, address: Address, chain_id: u64, domain: &str, uri: &str) -> Challenge {
        let now = unix_now();
        let expires_at = now + CHALLENGE_TTL.as_secs();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let message = format!(
            "{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{STATEMENT}\n\nURI: {uri}\n\
             Version: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {}\nExpiration Time: {}",
            rfc3339(now),
            rfc3339(expires_at),
            address = address.to_checksum(None),
        );
        let claims = ChallengeClaims {
            a: aomi_core::Address::from(address).to_lowercase_hex(),
            h: hex::encode(Sha256::digest(&message)),
            c: chain_id,
            n: nonce,
            e: expires_at,
        };
        Challenge { message, challenge: self.seal(TokenKind::Challenge, &claims), expires_at }
    }

    /// Checks a signed challenge and opens a session for its wallet. `chain` connects to the
    /// challenge's chain (for a contract wallet's check); where it cannot (no chain layer, a chain
    /// the server does not read) only a key's signature is accepted. The nonce is used up only by a valid signature, so a wrong signature does not
    /// burn the challenge.
    pub async fn verify(
        &self,
        message: &str,
        signature: &str,
        challenge: &str,
        store: &dyn AuthStore,
        chain: impl FnOnce(u64) -> Result<Arc<Connection>, aomi_chain::ChainError>,
    ) -> Result<SignedIn, SignInError> {
        let claims: ChallengeClaims =
            self.open(TokenKind::Challenge, challenge).ok_or(SignInError::UnknownChallenge)?;
        if claims.e <= unix_now() {
            return Err(SignInError::Expired);
        }
        if hex::encode(Sha256::digest(message)) != claims.h {
            return Err(SignInError::MessageMismatch);
        }
        let wallet: Address = claims.a.parse().map_err(|_| SignInError::UnknownChallenge)?;
        let signed_by =
            check_signature(wallet, message, signature, claims.c, chain).await.map_err(|error| match error {
                SignatureError::Chain(error) => SignInError::Unverifiable(error.to_string()),
                other => SignInError::BadSignature { expected: claims.a.clone(), reason: other.to_string() },
            })?;
        if !store.use_nonce(&claims.n, claims.e as i64).await? {
            return Err(SignInError::Replayed);
        }
        let generation = store.session_generation(wallet.into()).await?;
        let expires_at = unix_now() + SESSION_TTL.as_secs();
        let token = self.seal(TokenKind::Session, &SessionClaims { a: claims.a.clone(), g: generation, e: expires_at });
        Ok(SignedIn { address: claims.a, signed_by, token, expires_at })
    }

    /// The wallet a session token proves: valid, unexpired, and of the wallet's current session
    /// generation (not signed out everywhere since).
    pub async fn session(&self, token: &str, store: &dyn AuthStore) -> Result<Option<aomi_core::Address>, StoreError> {
        let Some(claims) = self.open::<SessionClaims>(TokenKind::Session, token) else { return Ok(None) };
        if claims.e <= unix_now() {
            return Ok(None);
        }
        // A sealed token names the address this server wrote into it.
        let Ok(wallet) = aomi_core::Address::parse(&claims.a) else { return Ok(None) };
        let current = store.session_generation(wallet).await?;
        Ok((claims.g == current).then_some(wallet))
    }

    /// The wallet a request speaks for: its session's, else (optional mode only) the one it
    /// names. In required mode a request without a session is refused, named wallet or not; a
    /// request that names another wallet than its session's is refused in both.
    pub fn speaker(
        &self,
        session: Option<aomi_core::Address>,
        named: Option<aomi_core::Address>,
    ) -> Result<Option<aomi_core::Address>, ApiError> {
        match (session, named) {
            (Some(session), Some(named)) if session != named => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message: format!("signed in as {session}, not as {named}: sign in with that wallet"),
            }),
            (Some(session), _) => Ok(Some(session)),
            (None, _) if self.mode == AuthMode::Required => Err(sign_in_required()),
            (None, named) => Ok(named),
        }
    }

    /// Refuses a request without a session in required mode (routes that name no wallet but
    /// read, change or spend: simulation, contracts).
    pub fn require_session(&self, session: &Session) -> Result<(), ApiError> {
        match (&session.0, self.mode) {
            (None, AuthMode::Required) => Err(sign_in_required()),
            _ => Ok(()),
        }
    }

    /// `claims` sealed for `kind` as `hex(json).hex(hmac(kind ‖ json))`.
    fn seal<T: Serialize>(&self, kind: TokenKind, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let tag = self.mac(kind, &payload).finalize().into_bytes();
        format!("{}.{}", hex::encode(&payload), hex::encode(tag))
    }

    /// The claims of a token this key sealed for `kind`; `None` for anything else.
    fn open<T: DeserializeOwned>(&self, kind: TokenKind, token: &str) -> Option<T> {
        // A session cookie is short; a longer value is not worth hex-decoding.
        if token.len() > 4096 {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = hex::decode(payload).ok()?;
        let tag = hex::decode(tag).ok()?;
        // verify_slice compares in constant time.
        self.mac(kind, &payload).verify_slice(&tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    // HMAC accepts a key of any length: `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    fn mac(&self, kind: TokenKind, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(kind.domain());
        mac.update(payload);
        mac
    }
}

/// Checks the signature by the wallet's key first; a contract wallet is asked on its chain.
async fn check_signature(
    wallet: Address,
    message: &str,
    signature: &str,
    chain_id: u64,
    chain: impl FnOnce(u64) -> Result<Arc<Connection>, aomi_chain::ChainError>,
) -> Result<SignedBy, SignatureError> {
    let signer = aomi_chain::signature::recover_signer(message, signature);
    if signer.as_ref().is_ok_and(|signer| *signer == wallet) {
        return Ok(SignedBy::Key);
    }
    match chain(chain_id) {
        Ok(connection) => aomi_chain::signature::verify_message(&connection, wallet, message, signature).await,
        // Only a key's signature can be checked without the chain: say whose key it was.
        Err(why) => Err(match signer {
            Ok(signer) => SignatureError::OtherSigner(signer),
            Err(_) => SignatureError::Malformed(format!(
                "it is no key's signature, and no contract wallet can be asked: {why}"
            )),
        }),
    }
}

fn sign_in_required() -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "sign_in_required",
        message: "sign in with your wallet first (POST /api/auth/challenge, then /api/auth/verify)".into(),
    }
}

fn wrong_origin(origin: &PublicOrigin, header: &str) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "wrong_origin",
        message: format!(
            "this request's {header} is not this server's public address ({}://{}); open aomi there",
            origin.scheme, origin.hosts[0]
        ),
    }
}

/// Middleware: a state-changing request (any method but GET, HEAD, OPTIONS) that carries the
/// session cookie must come from this server's own pages (see [`Auth::check_request_origin`]).
pub(crate) async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && let Err(error) = state.auth.check_request_origin(request.headers()) {
        return error.into_response();
    }
    next.run(request).await
}

/// The wallet a request's session cookie proves, if any (an invalid, expired or revoked cookie
/// is no session).
#[derive(Debug, Clone, Default)]
pub struct Session(pub Option<aomi_core::Address>);

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = session_token(&parts.headers) else { return Ok(Session(None)) };
        let address =
            state.auth.session(token, state.auth_store.as_ref()).await.map_err(crate::routes::chats::store_error)?;
        Ok(Session(address))
    }
}

/// The session cookie's value, if the request carries a non-empty one (a signed-out browser may
/// still send it empty).
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

fn random_key() -> Vec<u8> {
    let random = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    Sha256::digest(random.as_bytes()).to_vec()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn rfc3339(unix: u64) -> String {
    chrono::DateTime::from_timestamp(unix as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
