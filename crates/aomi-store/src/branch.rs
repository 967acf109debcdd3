//! Branches of a chat: the lines set aside when a person edits one of their messages or asks for
//! another answer.
//!
//! The `messages` table always holds the line the chat is on: what the model reads, what search
//! finds, what the page shows. Editing the message at position `k` (a new turn with
//! [`TurnStart::replaces`](crate::TurnStart::replaces)) moves the line from `k` on into a branch
//! that follows the message at `k - 1`, and the new message takes position `k`. Switching to a
//! branch swaps it with the part of the line it replaces, which becomes a branch in turn, so no
//! answer is ever lost and every branch stays reachable. A branch whose parent is itself set aside
//! waits with it, and comes back with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

/// A line of a chat that is set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRecord {
    /// The branch's id.
    pub id: String,
    /// The message it follows; `None` when it starts the chat.
    pub parent_id: Option<String>,
    /// Its first message's id (a user message).
    pub first_message_id: String,
    /// When its first message was written: the order of a fork's alternatives.
    pub first_created_at: DateTime<Utc>,
    /// How many messages it holds.
    pub messages: u64,
    /// When it was set aside.
    pub created_at: DateTime<Utc>,
}

/// A place on a chat's line where other lines were written: the alternatives a person can switch
/// between there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The message of the line where the alternatives start (a user message).
    pub message_id: String,
    /// The alternatives in the order they were first written: `None` is the line itself, the
    /// others set-aside branches.
    pub alternatives: Vec<Option<String>>,
}

/// The set-aside lines of chats.
#[async_trait]
pub trait BranchStore: Send + Sync {
    /// The chat's set-aside branches, oldest first (empty for an unknown chat).
    async fn branches(&self, chat_id: &str) -> Result<Vec<BranchRecord>, StoreError>;

    /// The forks on the chat's line, first to last (branches whose parent is set aside wait with
    /// it and are not listed).
    async fn forks(&self, chat_id: &str) -> Result<Vec<Fork>, StoreError>;

    /// Puts branch `branch_id` back on the chat's line, setting aside the part of the line it
    /// replaces as a new branch. [`StoreError::BranchNotFound`] for a branch not of this chat;
    /// [`StoreError::InvalidInput`] when its parent is not on the line (switch to the parent's
    /// branch first); [`StoreError::TurnRunning`] while a turn runs in the chat.
    async fn switch_branch(&self, chat_id: &str, branch_id: &str) -> Result<(), StoreError>;
}
