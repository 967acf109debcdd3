//! The `ChatBackend` trait: sessions, history and streams, with no agent logic.

use serde::{Deserialize, Serialize};

use crate::BoxFuture;
use crate::message::ChatMessage;
use crate::stream::UiChunk;
use crate::turn::TurnRequest;

/// A stream of parts, read one at a time.
pub trait PartStream: Send {
    /// The next part, or `None` when the stream ended.
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>>;
}

/// A chat as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSummary {
    /// The chat's id.
    pub id: String,
    /// Its title, once known.
    pub title: Option<String>,
    /// The app that answers in it.
    pub app: String,
    /// The owner's wallet address, if any.
    pub owner: Option<crate::Address>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// True while a turn runs.
    pub running: bool,
}

/// Why the backend refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// A turn is already running in this chat.
    #[error("a turn is already running in chat {0}; wait for it to finish or stop it")]
    TurnRunning(String),
    /// No app of that name.
    #[error("unknown app \"{name}\"; known apps: {known}")]
    UnknownApp {
        /// The name asked for.
        name: String,
        /// The names that exist, comma separated.
        known: String,
    },
    /// No chat of that id.
    #[error("no chat with id {0}")]
    ChatNotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The chat belongs to someone else.
    #[error("this chat belongs to another wallet")]
    Forbidden,
    /// Storage failed.
    #[error("storage error: {0}")]
    Storage(String),
}

/// The server side of chat: starts turns, streams them, keeps history. The same for every app and
/// every front end.
pub trait ChatBackend: Send + Sync {
    /// Starts a turn and returns its stream of parts, from `start` to `finish`.
    fn submit(&self, request: TurnRequest) -> BoxFuture<'_, Result<Box<dyn PartStream>, BackendError>>;

    /// Re-attaches to the chat's running turn: every part from its start. `None` when none runs.
    fn resume<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<Box<dyn PartStream>>, BackendError>>;

    /// The chat's messages, oldest first.
    fn messages<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatMessage>, BackendError>>;
}
