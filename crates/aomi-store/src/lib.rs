//! Persistence of chats and their messages.
//!
//! [`ChatStore`] is what the server talks to. Every write is committed when the call returns: the
//! server stores the user message before the model is called and each assistant step as it
//! completes, so a crash loses at most the step in flight. [`MemoryStore`] keeps everything in
//! memory (tests, and a server started without a database).

mod memory;

use aomi_core::ChatMessage;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;

/// A chat's stored record (without its messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRecord {
    /// The chat's id.
    pub id: String,
    /// The owner's wallet address (lower case), or `None` for an anonymous chat.
    pub owner: Option<String>,
    /// The app that answers in it.
    pub app: String,
    /// Its title, once generated or set.
    pub title: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a message was last stored.
    pub updated_at: DateTime<Utc>,
    /// Archived chats are hidden from the default list.
    pub archived: bool,
}

/// What is needed to create a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChat {
    /// The chat's id, chosen by the client.
    pub id: String,
    /// The owner's wallet address, if known.
    pub owner: Option<String>,
    /// The app that answers in it.
    pub app: String,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No chat of that id.
    #[error("no chat with id {0}")]
    ChatNotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for aomi_core::BackendError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ChatNotFound(id) => aomi_core::BackendError::ChatNotFound(id),
            other => aomi_core::BackendError::Storage(other.to_string()),
        }
    }
}

/// Chats and messages, kept durably.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Returns the chat, creating it first when it does not exist.
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError>;

    /// The chat of that id.
    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError>;

    /// Stores a message: appended at the end of the chat when its id is new, replaced in place
    /// when the chat already holds a message with that id.
    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError>;

    /// The chat's messages, oldest first.
    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError>;

    /// The owner's chats (anonymous chats for `None`), newest first.
    async fn list_chats(&self, owner: Option<&str>) -> Result<Vec<ChatRecord>, StoreError>;
}
