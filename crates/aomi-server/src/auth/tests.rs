#![allow(clippy::unwrap_used, clippy::expect_used)]

use aomi_chain::ChainError;
use aomi_store::SqliteStore;

use super::*;

const ALICE: &str = "0xa11ce00000000000000000000000000000000001";
const BOB: &str = "0xb0b0000000000000000000000000000000000002";

fn alice() -> aomi_core::Address {
    ALICE.parse().unwrap()
}

fn bob() -> aomi_core::Address {
    BOB.parse().unwrap()
}
const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn auth(secret: &str) -> Auth {
    Auth::new(AuthConfig { secret: Some(secret.into()), ..AuthConfig::default() }).unwrap()
}

fn no_chain(_: u64) -> Result<Arc<Connection>, ChainError> {
    Err(ChainError::Config("no chain in this test".into()))
}

use crate::test_support::headers;

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

#[tokio::test]
async fn tokens_are_bound_to_their_key_their_kind_and_their_content() {
    let store = SqliteStore::memory().await.unwrap();
    let auth = auth(SECRET);
    let token = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 0, e: unix_now() + 60 });
    assert_eq!(auth.session(&token, &store).await.unwrap(), Some(alice()));
    // Another instance with the same secret accepts it; another secret does not.
    assert_eq!(self::auth(SECRET).session(&token, &store).await.unwrap(), Some(alice()));
    let other = self::auth("another secret of thirty-two bytes!");
    assert_eq!(other.session(&token, &store).await.unwrap(), None);
    // Altered claims (Bob's address under Alice's tag) are refused.
    let (_, tag) = token.split_once('.').unwrap();
    let forged = format!(
        "{}.{tag}",
        hex::encode(serde_json::to_vec(&SessionClaims { a: BOB.into(), g: 0, e: u64::MAX }).unwrap())
    );
    assert_eq!(auth.session(&forged, &store).await.unwrap(), None);
    assert_eq!(auth.session("garbage", &store).await.unwrap(), None);
    // An expired session is none.
    let expired = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 0, e: unix_now() - 1 });
    assert_eq!(auth.session(&expired, &store).await.unwrap(), None);
    // A challenge is never a session, even one whose claims would parse as a session's.
    let challenge = auth.challenge(ALICE.parse().unwrap(), 1, "h", "u").challenge;
    assert_eq!(auth.session(&challenge, &store).await.unwrap(), None);
    let lookalike = auth.seal(TokenKind::Challenge, &SessionClaims { a: ALICE.into(), g: 0, e: u64::MAX });
    assert_eq!(auth.session(&lookalike, &store).await.unwrap(), None);
}

#[tokio::test]
async fn signing_out_everywhere_ends_older_sessions() {
    let store = SqliteStore::memory().await.unwrap();
    let auth = auth(SECRET);
    let old = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 0, e: unix_now() + 60 });
    assert_eq!(store.revoke_sessions(aomi_core::Address::parse(ALICE).unwrap()).await.unwrap(), 1);
    assert_eq!(auth.session(&old, &store).await.unwrap(), None);
    let new = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 1, e: unix_now() + 60 });
    assert_eq!(auth.session(&new, &store).await.unwrap(), Some(alice()));
}

#[tokio::test]
async fn a_challenge_is_checked_before_the_signature() {
    let store = SqliteStore::memory().await.unwrap();
    let auth = Auth::default();
    let challenge = auth.challenge(ALICE.parse().unwrap(), 1, "h", "u");
    let other = Auth::default();
    let verify = |auth: &Auth, message: &str, token: &str| {
        let (auth, message, token, store) = (auth.clone(), message.to_owned(), token.to_owned(), &store);
        async move { auth.verify(&message, "0x00", &token, store, no_chain).await.unwrap_err() }
    };
    assert_eq!(verify(&other, &challenge.message, &challenge.challenge).await, SignInError::UnknownChallenge);
    let edited = challenge.message.replace("Chain ID: 1", "Chain ID: 2");
    assert_eq!(verify(&auth, &edited, &challenge.challenge).await, SignInError::MessageMismatch);
    let expired = auth.seal(
        TokenKind::Challenge,
        &ChallengeClaims { a: ALICE.into(), h: String::new(), c: 1, n: "n".into(), e: unix_now() - 1 },
    );
    assert_eq!(verify(&auth, &challenge.message, &expired).await, SignInError::Expired);
    // A session token is no challenge.
    let session = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 0, e: u64::MAX });
    assert_eq!(verify(&auth, &challenge.message, &session).await, SignInError::UnknownChallenge);
    // A malformed signature, and no chain to ask whether the wallet is a contract: refused.
    assert!(matches!(verify(&auth, &challenge.message, &challenge.challenge).await, SignInError::BadSignature { .. }));
}

#[test]
fn the_speaker_is_the_session_and_required_mode_needs_one() {
    let optional = Auth::random_key(AuthMode::Optional, None);
    let required = Auth::random_key(AuthMode::Required, None);
    assert_eq!(optional.speaker(None, Some(alice())).unwrap(), Some(alice()));
    assert_eq!(optional.speaker(None, None).unwrap(), None);
    assert_eq!(required.speaker(None, Some(alice())).unwrap_err().status, StatusCode::UNAUTHORIZED);
    assert_eq!(required.speaker(None, None).unwrap_err().code, "sign_in_required", "no anonymous requests");
    assert_eq!(required.speaker(Some(alice()), None).unwrap(), Some(alice()));
    assert_eq!(required.speaker(Some(alice()), Some(alice())).unwrap(), Some(alice()));
    assert_eq!(optional.speaker(Some(alice()), Some(bob())).unwrap_err().status, StatusCode::FORBIDDEN);
    assert!(required.require_session(&Session(None)).is_err());
    assert!(required.require_session(&Session(Some(alice()))).is_ok());
    assert!(optional.require_session(&Session(None)).is_ok());
}

#[test]
fn a_short_secret_and_a_public_url_that_is_no_origin_are_refused() {
    let config = |secret: Option<&str>, url: Option<&str>| AuthConfig {
        secret: secret.map(Into::into),
        public_url: url.map(Into::into),
        ..AuthConfig::default()
    };
    assert_eq!(Auth::new(config(Some("short"), None)).unwrap_err(), AuthConfigError::ShortSecret(5));
    assert!(Auth::new(config(Some(&"x".repeat(MIN_SECRET_BYTES)), None)).is_ok());
    for bad in [
        "aomi.example",
        "ftp://aomi.example",
        "https://aomi.example/app",
        "https://u:p@aomi.example",
        "https://aomi.example/?q",
    ] {
        assert!(matches!(Auth::new(config(None, Some(bad))), Err(AuthConfigError::PublicUrl { .. })), "{bad}");
    }
    let auth = Auth::new(config(None, Some("https://aomi.example"))).unwrap();
    assert!(auth.secure_cookie(), "an https public URL makes the cookie Secure");
    let auth =
        Auth::new(AuthConfig { secure_cookie: Some(false), ..config(None, Some("https://aomi.example")) }).unwrap();
    assert!(!auth.secure_cookie(), "unless configured otherwise");
    let auth = Auth::default();
    auth.bind_to("127.0.0.1:8080".parse().unwrap());
    assert!(!auth.secure_cookie(), "plain http on the local default");
}

#[test]
fn sign_in_takes_its_domain_from_configuration_never_from_the_request() {
    let auth =
        Auth::new(AuthConfig { public_url: Some("https://aomi.example".into()), ..AuthConfig::default() }).unwrap();
    let (domain, uri) = auth.sign_in_origin(&headers(&[("host", "aomi.example")])).unwrap();
    assert_eq!((domain.as_str(), uri.as_str()), ("aomi.example", "https://aomi.example"));
    let refused = auth.sign_in_origin(&headers(&[("host", "evil.example")])).unwrap_err();
    assert_eq!((refused.status, refused.code), (StatusCode::FORBIDDEN, "wrong_origin"));
    assert!(auth.sign_in_origin(&headers(&[])).is_err(), "no Host is no sign-in");
    let cross = headers(&[("host", "aomi.example"), ("origin", "https://evil.example")]);
    assert_eq!(auth.sign_in_origin(&cross).unwrap_err().code, "wrong_origin");
    let same = headers(&[("host", "aomi.example"), ("origin", "https://aomi.example")]);
    assert!(auth.sign_in_origin(&same).is_ok());

    // Bound to a loopback port: the names a local browser uses, on that port only.
    let local = Auth::default();
    assert_eq!(local.sign_in_origin(&headers(&[("host", "localhost:8080")])).unwrap_err().code, "public_url_unset");
    local.bind_to("127.0.0.1:8080".parse().unwrap());
    for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
        assert_eq!(local.sign_in_origin(&headers(&[("host", host)])).unwrap().0, host);
    }
    assert!(local.sign_in_origin(&headers(&[("host", "localhost:9999")])).is_err());
}

#[test]
fn a_cross_site_request_with_a_session_cookie_is_refused() {
    let auth =
        Auth::new(AuthConfig { public_url: Some("https://aomi.example".into()), ..AuthConfig::default() }).unwrap();
    let cookie = format!("{SESSION_COOKIE}=abc");
    let evil = headers(&[("origin", "https://evil.example"), ("cookie", &cookie)]);
    assert_eq!(auth.check_request_origin(&evil).unwrap_err().code, "wrong_origin");
    assert!(auth.check_request_origin(&headers(&[("origin", "https://aomi.example"), ("cookie", &cookie)])).is_ok());
    assert!(
        auth.check_request_origin(&headers(&[("origin", "https://evil.example")])).is_ok(),
        "no cookie, nothing to ride"
    );
    assert!(
        auth.check_request_origin(&headers(&[("cookie", &cookie)])).is_ok(),
        "no Origin: not a browser's cross-site request"
    );
}

/// Fuzz targets of the sign-in tokens and the session cookie (docs/fuzzing.md): nothing but a
/// token this key sealed for its kind opens, and no input panics.
mod fuzz {
    use aomi_testkit::fuzz::{config, hostile_strings, text};
    use proptest::prelude::*;

    use super::*;

    fn token_text() -> BoxedStrategy<String> {
        prop_oneof![
            4 => text(),
            2 => "[0-9a-f]{0,80}\\.[0-9a-f]{0,80}",
            1 => proptest::sample::select(hostile_strings()),
        ]
        .boxed()
    }

    proptest! {
        #![proptest_config(config(file!(), 256))]

        /// Arbitrary text is never a session, never a challenge, and the cookie header parser
        /// takes any header.
        #[test]
        fn arbitrary_tokens_open_nothing(token in token_text(), cookie in token_text()) {
            let auth = auth(SECRET);
            prop_assert!(auth.open::<SessionClaims>(TokenKind::Session, &token).is_none());
            prop_assert!(auth.open::<ChallengeClaims>(TokenKind::Challenge, &token).is_none());
            if let Ok(value) = cookie.parse::<axum::http::HeaderValue>() {
                let mut map = HeaderMap::new();
                map.insert(COOKIE, value);
                let _ = session_token(&map);
            }
        }

        /// Changing any one character of a real session token makes it open nothing.
        #[test]
        fn a_tampered_session_token_opens_nothing(index in any::<prop::sample::Index>(), replacement in "[0-9a-f.]") {
            let auth = auth(SECRET);
            let token = auth.seal(TokenKind::Session, &SessionClaims { a: ALICE.into(), g: 0, e: u64::MAX });
            let at = index.index(token.len());
            let mut tampered = token.clone();
            tampered.replace_range(at..=at, &replacement);
            prop_assume!(tampered != token);
            prop_assert!(auth.open::<SessionClaims>(TokenKind::Session, &tampered).is_none());
        }

        /// Whatever message and signature come with a real challenge, only the issued message
        /// signed by its wallet opens a session: an arbitrary pair is refused, never a panic.
        #[test]
        fn arbitrary_signed_messages_open_no_session(message in text(), signature in token_text()) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = SqliteStore::memory().await.unwrap();
                let auth = Auth::default();
                let challenge = auth.challenge(ALICE.parse().unwrap(), 1, "h", "u");
                for message in [message.as_str(), challenge.message.as_str()] {
                    let result = auth.verify(message, &signature, &challenge.challenge, &store, no_chain).await;
                    assert!(result.is_err(), "{message:?} {signature:?}");
                }
            });
        }
    }
}
