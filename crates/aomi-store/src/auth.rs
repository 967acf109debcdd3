//! What sign-in keeps: used nonces and each wallet's session generation.
//!
//! Sign-in tokens are stateless (HMAC-sealed claims), so two facts must live in the shared
//! database for them to hold across instances:
//! - a signed sign-in message is good for one session: its nonce is recorded when it is verified
//!   ([`AuthStore::use_nonce`]) and a second use is refused, until the challenge expires and the
//!   row is pruned;
//! - a session names the wallet's *generation* it was opened in; "sign out everywhere"
//!   ([`AuthStore::revoke_sessions`]) moves the generation on, which ends every older session.
//!
//! Times are Unix seconds in both dialects.

use aomi_core::Address;
use async_trait::async_trait;

use crate::StoreError;

/// Sign-in state shared by every instance.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Records `nonce` as used until `expires_at` (Unix seconds). True the first time, false when
    /// it was used already (a replayed sign-in).
    async fn use_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool, StoreError>;

    /// The wallet's session generation: 0 until its sessions are first revoked.
    async fn session_generation(&self, address: Address) -> Result<u64, StoreError>;

    /// Ends every session of the wallet; returns its new generation.
    async fn revoke_sessions(&self, address: Address) -> Result<u64, StoreError>;

    /// Forgets nonces whose challenge expired before `now` (Unix seconds); returns how many.
    async fn prune_nonces(&self, now: i64) -> Result<u64, StoreError>;
}
