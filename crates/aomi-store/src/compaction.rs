//! Each chat's compaction: the summary of its older turns that the model is sent in their place
//! once the chat outgrows the model's budget (the compactor is `aomi_llm::compaction`).
//!
//! The store keeps one record per chat: the summary's text, the message it covers up to (its id,
//! and how many messages from the first), and the compactor's whole state as JSON (its facts, the
//! summaries of large tool outputs, its calibration), whose shape belongs to the compactor. The
//! chat's messages are never touched: the record only says what the model is sent. Deleting the
//! chat deletes its record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::StoreError;

/// A chat's compaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactionRecord {
    /// The chat.
    pub chat_id: String,
    /// The summary of the covered messages.
    pub summary: String,
    /// The id of the last message the summary covers.
    pub covers_through: String,
    /// How many messages, from the chat's first, the summary covers.
    pub covered: u64,
    /// The compactor's whole state, as JSON (an object).
    pub state: Value,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The chats' compactions.
#[async_trait]
pub trait CompactionStore: Send + Sync {
    /// The chat's compaction, if it has one.
    async fn compaction(&self, chat_id: &str) -> Result<Option<CompactionRecord>, StoreError>;

    /// Writes the chat's compaction, replacing any (`updated_at` is set by the store); the record
    /// as stored. The chat must exist.
    async fn put_compaction(&self, record: &CompactionRecord) -> Result<CompactionRecord, StoreError>;
}
