//! Facts: the one table of agent-valuable information every app shares.
//!
//! A fact is a `(kind, chain, subject) → value` line: an address label ("0x7099…79c8" → "my cold
//! wallet"), a token's metadata, a note about a protocol. A fact is either **global** (owner
//! [`GLOBAL`]: the curated data every wallet sees) or **a wallet's own** (what its user told aomi
//! to remember), which no other wallet sees. Chain 0 means "on every chain" (a person's wallet has
//! the same address everywhere).
//!
//! Readers ask for the facts about some subjects ([`FactStore::facts_about`]) or search them
//! ([`FactStore::find_facts`]); both answer the global facts and the given wallet's, so a caller
//! prefers the wallet's own where both name one subject.
//!
//! [`AnswerCache`] keeps remote answers (an account's explorer history) for a short while, so a
//! repeated question does not spend the explorer's quota.

use std::time::Duration;

use aomi_core::Address;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

/// The owner of a global fact: no wallet.
pub const GLOBAL: Option<Address> = None;

/// What a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactKind {
    /// A name for an address.
    Label,
    /// A token's metadata (symbol, decimals, what it is).
    Token,
    /// A note about a protocol, a contract or anything else.
    Note,
}

impl FactKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Label => "label",
            FactKind::Token => "token",
            FactKind::Note => "note",
        }
    }

    /// The kind from its stored name.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "label" => Ok(FactKind::Label),
            "token" => Ok(FactKind::Token),
            "note" => Ok(FactKind::Note),
            other => Err(StoreError::Corrupt(format!("unknown fact kind \"{other}\""))),
        }
    }
}

/// A fact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FactRecord {
    /// The wallet whose fact it is; `None` for a global (curated) fact.
    pub owner: Option<Address>,
    /// What it is about.
    pub kind: FactKind,
    /// The chain it holds on; 0 for every chain.
    pub chain_id: u64,
    /// What it is about: an address (lower case, as [`Address::to_lowercase_hex`] writes it) or a
    /// name.
    pub subject: String,
    /// What is known.
    pub value: String,
    /// Where it comes from: `"curated"`, `"user"`, …
    pub source: String,
    /// When it was written.
    pub updated_at: DateTime<Utc>,
}

/// A search of the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactQuery {
    /// The wallet whose own facts are searched beside the global ones; `None` for the global
    /// ones only.
    pub owner: Option<Address>,
    /// Only facts of this kind.
    pub kind: Option<FactKind>,
    /// Words the subject or the value contains (case-insensitive); empty for every fact.
    pub text: String,
    /// Only facts on this chain (and those on every chain).
    pub chain_id: Option<u64>,
    /// At most this many (1 to [`MAX_PAGE`](crate::MAX_PAGE)).
    pub limit: u32,
}

/// The facts.
#[async_trait]
pub trait FactStore: Send + Sync {
    /// Writes a fact, replacing the one with the same owner, kind, chain and subject.
    async fn put_fact(&self, fact: &FactRecord) -> Result<(), StoreError>;

    /// Removes a fact; true if there was one.
    async fn delete_fact(
        &self,
        owner: Option<Address>,
        kind: FactKind,
        chain_id: u64,
        subject: &str,
    ) -> Result<bool, StoreError>;

    /// The facts of `kind` about `subjects` on `chain_id` (and on every chain): the global ones
    /// and `owner`'s own, the wallet's first.
    async fn facts_about(
        &self,
        owner: Option<Address>,
        kind: FactKind,
        chain_id: u64,
        subjects: &[String],
    ) -> Result<Vec<FactRecord>, StoreError>;

    /// The facts matching `query`, the wallet's own first, then by subject.
    async fn find_facts(&self, query: &FactQuery) -> Result<Vec<FactRecord>, StoreError>;

    /// How many facts `owner` made (the global ones when `None`).
    async fn count_facts(&self, owner: Option<Address>) -> Result<u64, StoreError>;
}

/// Remote answers kept a short while.
#[async_trait]
pub trait AnswerCache: Send + Sync {
    /// The answer stored under `key` if it is younger than `max_age`.
    async fn cached_answer(&self, key: &str, max_age: Duration) -> Result<Option<Value>, StoreError>;

    /// Stores `value` under `key`, and forgets every answer older than `keep`, so the table stays
    /// small.
    async fn put_answer(&self, key: &str, value: &Value, keep: Duration) -> Result<(), StoreError>;
}
