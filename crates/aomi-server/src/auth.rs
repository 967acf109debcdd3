//! Sign-in with the wallet ("Sign-In with Ethereum", EIP-4361).
//!
//! The page asks for a challenge (`POST /api/auth/challenge`): an EIP-4361 message naming this
//! host, the wallet's address, a fresh nonce and an expiry, with a token that binds them. The
//! wallet signs the message (`personal_sign`); `POST /api/auth/verify` checks the token, that the
//! message is the one issued, that it has not expired, and that the signature recovers the address,
//! and sets an HttpOnly session cookie naming the wallet.
//!
//! Both tokens are HMAC-SHA256-signed claims, so any instance sharing the secret
//! (`AOMI_AUTH_SECRET`) accepts them and no table is needed. Without a configured secret each
//! process makes its own: sessions then end when it restarts (signing in again is one click).
//!
//! A session makes a request speak for its wallet. In [`AuthMode::Optional`] (the default, for a
//! local single-user aomi) a request without a session may still name a wallet with `?owner=` or
//! `wallet.address`; in [`AuthMode::Required`] (any deployment others can reach) it may not: the
//! wallet's history and turns need its signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aomi_chain::alloy::primitives::{Address, hex};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "aomi_session";

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
    /// Only a session may name a wallet.
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
    /// The signature is malformed or was made by another key.
    #[error("the signature is not {expected}'s: {reason}")]
    BadSignature {
        /// The wallet that should have signed.
        expected: String,
        /// What was wrong.
        reason: String,
    },
}

/// An issued challenge: the message to sign and the token to send back with the signature.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The EIP-4361 message.
    pub message: String,
    /// Binds the message, the address and the expiry; opaque to the client.
    pub challenge: String,
    /// When the challenge expires (Unix seconds).
    pub expires_at: u64,
}

/// A session the verify step opened.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The wallet, lower case.
    pub address: String,
    /// The cookie's value.
    pub token: String,
    /// When the session ends (Unix seconds).
    pub expires_at: u64,
}

#[derive(Serialize, Deserialize)]
struct ChallengeClaims {
    /// The wallet, lower case.
    a: String,
    /// SHA-256 of the message, hex.
    h: String,
    /// Expiry, Unix seconds.
    e: u64,
}

#[derive(Serialize, Deserialize)]
struct SessionClaims {
    /// The wallet, lower case.
    a: String,
    /// Expiry, Unix seconds.
    e: u64,
}

/// Sign-in: issues challenges, opens sessions, and says which wallet a request speaks for.
#[derive(Clone)]
pub struct Auth {
    mode: AuthMode,
    key: Vec<u8>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth::new(AuthMode::default(), None)
    }
}

impl Auth {
    /// Sign-in in `mode`, with tokens signed by `secret` (shared by the instances of one
    /// deployment), or by a key of this process's own when none is given.
    pub fn new(mode: AuthMode, secret: Option<&str>) -> Self {
        let key = match secret {
            Some(secret) => Sha256::digest(secret.as_bytes()).to_vec(),
            None => {
                let random = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
                Sha256::digest(random.as_bytes()).to_vec()
            }
        };
        Auth { mode, key }
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
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
        let claims = ChallengeClaims { a: lower(&address), h: hex::encode(Sha256::digest(&message)), e: expires_at };
        Challenge { message, challenge: self.seal(&claims), expires_at }
    }

    /// Checks a signed challenge and opens a session for its wallet.
    pub fn verify(&self, message: &str, signature: &str, challenge: &str) -> Result<SignedIn, SignInError> {
        let claims: ChallengeClaims = self.open(challenge).ok_or(SignInError::UnknownChallenge)?;
        if claims.e <= unix_now() {
            return Err(SignInError::Expired);
        }
        if hex::encode(Sha256::digest(message)) != claims.h {
            return Err(SignInError::MessageMismatch);
        }
        let signer = aomi_chain::signature::recover_signer(message, signature)
            .map_err(|e| SignInError::BadSignature { expected: claims.a.clone(), reason: e.to_string() })?;
        if lower(&signer) != claims.a {
            return Err(SignInError::BadSignature {
                expected: claims.a,
                reason: format!("it was made by {}", signer.to_checksum(None)),
            });
        }
        let expires_at = unix_now() + SESSION_TTL.as_secs();
        let token = self.seal(&SessionClaims { a: claims.a.clone(), e: expires_at });
        Ok(SignedIn { address: claims.a, token, expires_at })
    }

    /// The wallet a session token proves, if it is valid and unexpired.
    pub fn session(&self, token: &str) -> Option<String> {
        let claims: SessionClaims = self.open(token)?;
        (claims.e > unix_now()).then_some(claims.a)
    }

    /// The wallet a request speaks for: its session's, else (optional mode only) the one it
    /// names. A request that names another wallet than its session's is refused.
    pub fn speaker(&self, session: Option<String>, named: Option<String>) -> Result<Option<String>, ApiError> {
        match (session, named) {
            (Some(session), Some(named)) if session != named => Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message: format!("signed in as {session}, not as {named}: sign in with that wallet"),
            }),
            (Some(session), _) => Ok(Some(session)),
            (None, Some(named)) if self.mode == AuthMode::Required => Err(ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: "sign_in_required",
                message: format!("sign in with {named} first (POST /api/auth/challenge, then /api/auth/verify)"),
            }),
            (None, named) => Ok(named),
        }
    }

    /// `claims` as `hex(json).hex(hmac)`.
    fn seal<T: Serialize>(&self, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", hex::encode(&payload), hex::encode(tag))
    }

    /// The claims of a token this key sealed; `None` for anything else.
    fn open<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let (payload, tag) = token.split_once('.')?;
        let payload = hex::decode(payload).ok()?;
        let tag = hex::decode(tag).ok()?;
        // verify_slice compares in constant time.
        self.mac(&payload).verify_slice(&tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    // HMAC accepts a key of any length: `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(payload);
        mac
    }
}

/// The wallet a request's session cookie proves, if any (an invalid or expired cookie is no
/// session).
#[derive(Debug, Clone, Default)]
pub struct Session(pub Option<String>);

impl FromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='));
        Ok(Session(token.and_then(|token| state.auth.session(token))))
    }
}

fn lower(address: &Address) -> String {
    format!("{address:#x}")
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
mod tests {
    use super::*;

    const ALICE: &str = "0xa11ce00000000000000000000000000000000001";
    const BOB: &str = "0xb0b0000000000000000000000000000000000002";

    #[test]
    fn the_message_follows_eip_4361() {
        let auth = Auth::default();
        let address: Address = ALICE.parse().unwrap();
        let challenge = auth.challenge(address, 8453, "aomi.example:8080", "https://aomi.example:8080");
        let lines: Vec<&str> = challenge.message.lines().collect();
        assert_eq!(lines[0], "aomi.example:8080 wants you to sign in with your Ethereum account:");
        assert_eq!(lines[1], address.to_checksum(None));
        assert_eq!(lines[2], "");
        assert_eq!(lines[3], STATEMENT);
        assert_eq!(lines[5], "URI: https://aomi.example:8080");
        assert_eq!(lines[6], "Version: 1");
        assert_eq!(lines[7], "Chain ID: 8453");
        assert!(lines[8].strip_prefix("Nonce: ").is_some_and(|n| n.len() == 32));
        assert!(lines[9].starts_with("Issued At: 20") && lines[9].ends_with('Z'));
        assert!(lines[10].starts_with("Expiration Time: "));
        // Two challenges never share a nonce.
        assert_ne!(auth.challenge(address, 8453, "h", "u").message, auth.challenge(address, 8453, "h", "u").message);
    }

    #[test]
    fn tokens_are_bound_to_their_key_and_content() {
        let auth = Auth::new(AuthMode::Optional, Some("one secret"));
        let token = auth.seal(&SessionClaims { a: ALICE.into(), e: unix_now() + 60 });
        assert_eq!(auth.session(&token).as_deref(), Some(ALICE));
        // Another instance with the same secret accepts it; another secret does not.
        assert_eq!(Auth::new(AuthMode::Optional, Some("one secret")).session(&token).as_deref(), Some(ALICE));
        assert_eq!(Auth::new(AuthMode::Optional, Some("another")).session(&token), None);
        // Altered claims (Bob's address under Alice's tag) are refused.
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{tag}",
            hex::encode(serde_json::to_vec(&SessionClaims { a: BOB.into(), e: u64::MAX }).unwrap())
        );
        assert_eq!(auth.session(&forged), None);
        assert_eq!(auth.session("garbage"), None);
        // An expired session is none.
        assert_eq!(auth.session(&auth.seal(&SessionClaims { a: ALICE.into(), e: unix_now() - 1 })), None);
    }

    #[test]
    fn a_challenge_is_checked_before_the_signature() {
        let auth = Auth::default();
        let challenge = auth.challenge(ALICE.parse().unwrap(), 1, "h", "u");
        let other = Auth::default();
        assert_eq!(
            other.verify(&challenge.message, "0x00", &challenge.challenge).unwrap_err(),
            SignInError::UnknownChallenge
        );
        let edited = challenge.message.replace("Chain ID: 1", "Chain ID: 2");
        assert_eq!(auth.verify(&edited, "0x00", &challenge.challenge).unwrap_err(), SignInError::MessageMismatch);
        let expired = auth.seal(&ChallengeClaims { a: ALICE.into(), h: String::new(), e: unix_now() - 1 });
        assert_eq!(auth.verify(&challenge.message, "0x00", &expired).unwrap_err(), SignInError::Expired);
        assert!(matches!(
            auth.verify(&challenge.message, "0x1234", &challenge.challenge),
            Err(SignInError::BadSignature { .. })
        ));
    }

    #[test]
    fn the_speaker_is_the_session_and_required_mode_needs_one() {
        let optional = Auth::new(AuthMode::Optional, None);
        let required = Auth::new(AuthMode::Required, None);
        assert_eq!(optional.speaker(None, Some(ALICE.into())).unwrap().as_deref(), Some(ALICE));
        assert_eq!(required.speaker(None, Some(ALICE.into())).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert_eq!(required.speaker(None, None).unwrap(), None);
        assert_eq!(required.speaker(Some(ALICE.into()), None).unwrap().as_deref(), Some(ALICE));
        assert_eq!(required.speaker(Some(ALICE.into()), Some(ALICE.into())).unwrap().as_deref(), Some(ALICE));
        assert_eq!(optional.speaker(Some(ALICE.into()), Some(BOB.into())).unwrap_err().status, StatusCode::FORBIDDEN);
    }
}
