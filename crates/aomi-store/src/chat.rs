//! Chats, their messages, their owners, and search over them.

use std::fmt;
use std::str::FromStr;

use aomi_core::{Address, ChatMessage, Role};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A chat's stored record (without its messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRecord {
    /// The chat's id.
    pub id: String,
    /// The owner's wallet (serialised lower case), or `None` for an anonymous chat.
    pub owner: Option<Address>,
    /// The app that answers in it.
    pub app: String,
    /// Its title, once generated or set.
    pub title: Option<String>,
    /// The chain id of the wallet's network at the chat's last turn.
    pub chain_id: Option<u64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a message was last stored.
    pub updated_at: DateTime<Utc>,
    /// Archived chats are listed apart.
    pub archived: bool,
    /// True while a live turn runs in it (on any instance).
    pub running: bool,
    /// The id of the model it runs on, chosen when it was created; `None`: the server's default.
    #[serde(default)]
    pub model: Option<String>,
}

/// What is needed to create a chat, or to note a new turn in an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChat {
    /// The chat's id, chosen by the client.
    pub id: String,
    /// The wallet that sends the turn, if known: it owns the chat when the chat is new, and is
    /// recorded as seen now.
    pub owner: Option<Address>,
    /// The app that answers in it.
    pub app: String,
    /// The chain id the wallet is on now.
    pub chain_id: Option<u64>,
    /// The id of the model a new chat runs on (`None`: the server's default). Stored only when
    /// the chat is created: an existing chat keeps its model.
    pub model: Option<String>,
}

/// A wallet that used aomi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// The wallet (serialised lower case).
    pub address: Address,
    /// Its first turn.
    pub first_seen: DateTime<Utc>,
    /// Its latest turn.
    pub last_seen: DateTime<Utc>,
}

/// Where a page of chats starts: just after the last chat of the previous page.
///
/// On the wire it is the opaque string `<updated_at in µs>.<chat id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatCursor {
    /// The `updated_at` of the last chat seen.
    pub updated_at: DateTime<Utc>,
    /// The id of the last chat seen (ties on `updated_at` are ordered by id).
    pub id: String,
}

impl fmt::Display for ChatCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.updated_at.timestamp_micros(), self.id)
    }
}

impl FromStr for ChatCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::InvalidInput(format!("\"{text}\" is not a cursor from a previous page"));
        let (micros, id) = text.split_once('.').ok_or_else(bad)?;
        let updated_at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(ChatCursor { updated_at, id: id.to_owned() })
    }
}

/// The largest page of chats or search results a caller may ask for.
pub const MAX_PAGE: u32 = 100;

/// Which chats to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatQuery {
    /// The owner's wallet.
    pub owner: Address,
    /// List the archived chats instead of the others.
    pub archived: bool,
    /// Chats per page, 1 to [`MAX_PAGE`].
    pub limit: u32,
    /// Continue after this chat; `None` for the first page.
    pub after: Option<ChatCursor>,
}

/// A page of chats, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatPage {
    /// The chats.
    pub chats: Vec<ChatRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ChatCursor>,
}

/// A full-text search over one owner's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The owner's wallet.
    pub owner: Address,
    /// What the person typed; every word must occur (as a word or a word's beginning).
    pub text: String,
    /// Results, 1 to [`MAX_PAGE`].
    pub limit: u32,
}

/// A message that matches a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The chat.
    pub chat_id: String,
    /// The chat's title.
    pub chat_title: Option<String>,
    /// True when the chat is archived.
    pub archived: bool,
    /// The message.
    pub message_id: String,
    /// Who wrote it.
    pub role: Role,
    /// A short plain-text excerpt around the match, the matched words in `**bold**` (Markdown).
    pub snippet: String,
    /// When the message was stored.
    pub created_at: DateTime<Utc>,
}

/// Chats and messages, kept durably. Every write is committed when the call returns.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Returns the chat, creating it first when it does not exist (owned by `chat.owner`). Also
    /// records the owner as seen now and the chat's current chain id.
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError>;

    /// The chat of that id.
    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError>;

    /// Stores a message: appended at the end of the chat when its id is new, replaced in place
    /// when the chat already holds a message with that id. [`StoreError::ChatNotFound`] when the
    /// chat does not exist.
    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError>;

    /// The chat's messages, oldest first (empty for an unknown chat).
    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError>;

    /// How many messages the chat holds (0 for an unknown chat), without reading them.
    async fn message_count(&self, chat_id: &str) -> Result<u64, StoreError>;

    /// A page of the owner's chats, most recently updated first.
    async fn list_chats(&self, query: &ChatQuery) -> Result<ChatPage, StoreError>;

    /// Sets the chat's title.
    async fn rename_chat(&self, id: &str, title: &str) -> Result<(), StoreError>;

    /// Sets the title only if the chat has none yet (a generated title never overwrites one that
    /// a person chose, nor one another instance generated first). True if it was set.
    async fn set_title_if_missing(&self, id: &str, title: &str) -> Result<bool, StoreError>;

    /// Archives or unarchives the chat.
    async fn set_archived(&self, id: &str, archived: bool) -> Result<(), StoreError>;

    /// Deletes the chat with its messages, turns and transactions.
    async fn delete_chat(&self, id: &str) -> Result<(), StoreError>;

    /// Messages of the owner's chats that contain every word of the query, best match first.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError>;

    /// The wallet's record, if it ever sent a turn.
    async fn user(&self, address: Address) -> Result<Option<UserRecord>, StoreError>;
}
