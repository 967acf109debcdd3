//! The `ChatBackend` trait: sessions, history and streams, with no agent logic.
//!
//! Every front end (the HTTP routes, a terminal, a bot) reaches chats through this trait only: it
//! starts, follows and stops turns, and reads and changes the history. The types here are the
//! backend's own, not a store's records nor an HTTP API's answers; each of those converts.

use std::time::SystemTime;

use crate::BoxFuture;
use crate::message::{ChatMessage, Role};
use crate::stream::UiChunk;
use crate::turn::TurnRequest;

/// A stream of parts, read one at a time.
pub trait PartStream: Send {
    /// The next part, or `None` when the stream ended.
    fn next_part(&mut self) -> BoxFuture<'_, Option<UiChunk>>;
}

/// A turn the backend accepted.
pub struct StartedTurn {
    /// Its parts, from `start` to `finish`.
    pub parts: Box<dyn PartStream>,
    /// Completes when the turn has ended and is stored, whether or not anyone reads `parts` (a
    /// client that goes away does not stop a turn).
    pub ended: BoxFuture<'static, ()>,
}

impl std::fmt::Debug for StartedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedTurn").finish_non_exhaustive()
    }
}

/// A chat as listed (without its messages).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSummary {
    /// The chat's id.
    pub id: String,
    /// The owner's wallet address, or `None` for an anonymous chat.
    pub owner: Option<crate::Address>,
    /// The app that answers in it.
    pub app: String,
    /// Its title, once generated or set.
    pub title: Option<String>,
    /// The chain id of the wallet's network at the chat's last turn.
    pub chain_id: Option<u64>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When a message was last stored.
    pub updated_at: SystemTime,
    /// Archived chats are listed apart.
    pub archived: bool,
    /// True while a turn runs in it (on any instance).
    pub running: bool,
    /// The id of the model it runs on, chosen when it was created; `None`: the server's default.
    pub model: Option<String>,
}

/// A place on a chat's line where other lines were written (by an edit, or another answer asked
/// for): the alternatives a person can switch between there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFork {
    /// The message of the line where the alternatives start (a user message).
    pub message_id: String,
    /// The alternatives in the order they were first written: `None` is the line the chat is on,
    /// the others branch ids to switch to.
    pub alternatives: Vec<Option<String>>,
}

/// Which chats to list: one page of an owner's chats, most recently updated first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatListQuery {
    /// The owner's wallet address.
    pub owner: crate::Address,
    /// List the archived chats instead of the others.
    pub archived: bool,
    /// Chats per page.
    pub limit: u32,
    /// The `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

/// A page of chats.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatListPage {
    /// The chats, most recently updated first.
    pub chats: Vec<ChatSummary>,
    /// The opaque cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// Which of a chat's messages to read: the newest `limit` before the message `before`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageQuery {
    /// Only messages before this message id (all of them when `None`).
    pub before: Option<String>,
    /// At most this many (`None`: no limit).
    pub limit: Option<usize>,
}

/// A page of a chat's messages.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist than the first one here.
    pub has_more: bool,
}

/// What to change in a chat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatChange {
    /// The new title.
    pub title: Option<String>,
    /// Archive (`true`) or unarchive (`false`).
    pub archived: Option<bool>,
}

/// A full-text search over one owner's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The owner's wallet address.
    pub owner: crate::Address,
    /// What the person typed; every word must occur (as a word or a word's beginning).
    pub text: String,
    /// At most this many results.
    pub limit: u32,
}

/// A message that matches a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchMatch {
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
    pub created_at: SystemTime,
}

/// An app a request can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// A model a chat can run on: one of the server's allowed models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    /// The id a request names (`"model"` of a turn request).
    pub id: String,
    /// A name for people.
    pub label: String,
    /// True for the model a chat that names none runs on.
    pub default: bool,
}

/// What [`ChatBackend::stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// The turn stopped; it has stored its answer and the chat is free.
    Stopped,
    /// The turn was told to stop but had not ended within the grace period (it ends on its own).
    Stopping,
    /// No turn runs in the chat (or the one running ended by itself before the stop reached it).
    NotRunning,
    /// A turn runs in the chat on another instance that shares the store; only that instance can
    /// stop it.
    RunningElsewhere,
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
    /// No allowed model of that id.
    #[error("unknown model \"{name}\"; allowed models: {known}")]
    UnknownModel {
        /// The id asked for.
        name: String,
        /// The ids allowed, comma separated (`none` when no model is configured).
        known: String,
    },
    /// No chat of that id.
    #[error("no chat with id {0}")]
    ChatNotFound(String),
    /// No branch of that id in the chat.
    #[error("no branch with id {0} in this chat")]
    BranchNotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The chat belongs to someone else.
    #[error("this chat belongs to another wallet")]
    Forbidden,
    /// The chat holds as many messages as a chat may ([`TurnRequest::max_messages`]).
    #[error("this chat holds {count} messages, the most a chat may hold; start a new chat")]
    ChatFull {
        /// The messages it holds.
        count: usize,
    },
    /// Storage failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// This instance is shutting down (draining): it starts no new turn and is not ready; another
    /// instance, or this one once restarted, takes the request.
    #[error("this aomi instance is shutting down; retry in a moment (another instance or the restarted one answers)")]
    ShuttingDown,
}

/// The server side of chat: starts turns, streams them, keeps history. The same for every app and
/// every front end. Owners are checked by the caller (who knows who asks): the backend answers
/// for any chat.
pub trait ChatBackend: Send + Sync {
    /// The apps a request can name, sorted by name.
    fn apps(&self) -> Vec<AppSummary>;

    /// The models a new chat may pick, the default first. None by default (a backend without a
    /// choice of models).
    fn models(&self) -> Vec<ModelSummary> {
        Vec::new()
    }

    /// Starts a turn: checks it, stores the new message, and returns its stream of parts, from
    /// `start` to `finish`.
    fn submit(&self, request: TurnRequest) -> BoxFuture<'_, Result<StartedTurn, BackendError>>;

    /// Re-attaches to the chat's running turn: every part from its start. `None` when none runs.
    fn resume<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<Box<dyn PartStream>>, BackendError>>;

    /// Stops the chat's running turn: what it has is stored, marked stopped, and its stream ends
    /// with `abort`. Waits a few seconds at most for it to end.
    fn stop<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<StopOutcome, BackendError>>;

    /// True while a live turn runs in the chat (on any instance).
    fn turn_running<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// The chat, if it exists.
    fn chat<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<ChatSummary>, BackendError>>;

    /// The chat's messages, oldest first.
    fn messages<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatMessage>, BackendError>>;

    /// A page of the chat's messages, oldest first: the newest `limit` before `before`.
    /// [`BackendError::BadRequest`] when the chat holds no message `before`.
    fn message_page<'a>(
        &'a self,
        chat_id: &'a str,
        query: MessageQuery,
    ) -> BoxFuture<'a, Result<MessagePage, BackendError>> {
        Box::pin(async move {
            let mut messages = self.messages(chat_id).await?;
            if let Some(before) = &query.before {
                let end = messages
                    .iter()
                    .position(|m| &m.id == before)
                    .ok_or_else(|| BackendError::BadRequest(format!("no message {before} in this chat")))?;
                messages.truncate(end);
            }
            let start = messages.len().saturating_sub(query.limit.unwrap_or(usize::MAX));
            let messages = messages.split_off(start);
            Ok(MessagePage { messages, has_more: start > 0 })
        })
    }

    /// The forks on the chat's line: where a person edited a message or asked for another
    /// answer, with the alternatives there (empty for a chat never edited).
    fn forks<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatFork>, BackendError>>;

    /// Puts one of the chat's branches back on its line; the part of the line it replaces is set
    /// aside in turn. [`BackendError::TurnRunning`] while a turn runs in the chat;
    /// [`BackendError::BranchNotFound`] for a branch not of this chat.
    fn switch_branch<'a>(&'a self, chat_id: &'a str, branch_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;

    /// A page of an owner's chats.
    fn list_chats(&self, query: ChatListQuery) -> BoxFuture<'_, Result<ChatListPage, BackendError>>;

    /// Renames and/or (un)archives the chat; answers it changed.
    /// [`BackendError::ChatNotFound`] when it does not exist.
    fn update_chat<'a>(
        &'a self,
        chat_id: &'a str,
        change: ChatChange,
    ) -> BoxFuture<'a, Result<ChatSummary, BackendError>>;

    /// Deletes the chat with everything it holds; [`BackendError::TurnRunning`] while a turn runs
    /// in it.
    fn delete_chat<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;

    /// The owner's messages holding every word, best match first.
    fn search(&self, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchMatch>, BackendError>>;

    /// Whether the backend can serve: its storage answers, and it is not shutting down.
    fn ready(&self) -> BoxFuture<'_, Result<(), BackendError>>;
}
