//! Spend guards: each wallet's limits on what aomi may ask its wallet to do, and the requests that
//! count against its daily limit.
//!
//! The settings are one JSON document per wallet (their shape belongs to the tools that enforce
//! them, `aomi_tools::guard::GuardSettings`); the store keeps them as given, keyed by the wallet.
//! Only the signed-in wallet's own route writes them: no tool has a way to.

use aomi_core::Address;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{StoreError, TransactionRecord};

/// A wallet's guard settings as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardRecord {
    /// The wallet they guard.
    pub owner: Address,
    /// The settings, as JSON.
    pub settings: Value,
    /// When they last changed.
    pub updated_at: DateTime<Utc>,
}

/// The spend guards.
#[async_trait]
pub trait GuardStore: Send + Sync {
    /// The wallet's settings, if it saved any.
    async fn guards(&self, owner: Address) -> Result<Option<GuardRecord>, StoreError>;

    /// Writes the wallet's settings, replacing any; the record as stored.
    async fn put_guards(&self, owner: Address, settings: &Value) -> Result<GuardRecord, StoreError>;

    /// The wallet's requests recorded at or after `since` that went to its wallet and may have
    /// been signed: sent (with a hash) or still pending. Held, rejected and failed ones moved
    /// nothing. Oldest first.
    async fn spending_requests(
        &self,
        from: Address,
        since: DateTime<Utc>,
    ) -> Result<Vec<TransactionRecord>, StoreError>;
}
