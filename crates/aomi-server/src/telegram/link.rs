//! One-time links that bind a Telegram user to a wallet.
//!
//! `/wallet` makes a random token, stores its SHA-256 with the user and an expiry, and answers
//! `{public_url}/telegram/link#<token>` (in the fragment, which browsers never send, so the token
//! stays out of every server's and proxy's logs). The page, signed in with the wallet (SIWE),
//! posts the token to `POST /api/telegram/link`, which redeems it: the store deletes the link
//! and binds the user in one transaction, so a link binds once and an expired one never.

use sha2::{Digest, Sha256};

/// A new token: 256 random bits as 64 hex digits.
pub fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The page's address that confirms the link.
pub fn link_url(public_url: &str, token: &str) -> String {
    format!("{}/telegram/link#{token}", public_url.trim_end_matches('/'))
}

/// The page's address of a chat (where a wallet request is reviewed and signed).
pub fn chat_url(public_url: &str, chat_id: &str) -> String {
    format!("{}/chat/{chat_id}", public_url.trim_end_matches('/'))
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
