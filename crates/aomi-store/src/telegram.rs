//! What the Telegram front end keeps: each Telegram chat's aomi chat, the wallet each Telegram
//! user bound, and the one-time links that bind them.
//!
//! A link's token is never stored, only its SHA-256 (the caller hashes it), so a copy of the
//! database opens no binding. Redeeming a link deletes it in the same transaction that binds the
//! wallet: a link binds once, on any instance, and an expired one binds nothing.
//!
//! Times are Unix seconds in both dialects.

use aomi_core::Address;
use async_trait::async_trait;

use crate::StoreError;

/// A Telegram chat's place in aomi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramChat {
    /// The aomi chat its messages go to.
    pub chat_id: String,
    /// The chain id its turns run on.
    pub chain_id: u64,
}

/// The Telegram front end's state, shared by every instance.
#[async_trait]
pub trait TelegramStore: Send + Sync {
    /// The Telegram chat's current aomi chat, if it has one.
    async fn telegram_chat(&self, telegram_chat: i64) -> Result<Option<TelegramChat>, StoreError>;

    /// Points the Telegram chat at `chat` (a new chat, or the same one on another network).
    async fn set_telegram_chat(&self, telegram_chat: i64, chat: &TelegramChat) -> Result<(), StoreError>;

    /// The wallet the Telegram user bound, if any.
    async fn telegram_wallet(&self, telegram_user: i64) -> Result<Option<Address>, StoreError>;

    /// Records a one-time link (the SHA-256 of its token, hex) for the user, good until
    /// `expires_at`; forgets the links that expired before `now`.
    async fn create_telegram_link(
        &self,
        token_hash: &str,
        telegram_user: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Uses the link: binds its user to `wallet` and answers the user, once; `None` when no such
    /// link exists (never made, used already) or it expired before `now`.
    async fn redeem_telegram_link(
        &self,
        token_hash: &str,
        wallet: Address,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
}
