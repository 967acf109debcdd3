//! Running turns: who runs them, whether they are alive, and their parts for other instances.
//!
//! A turn is claimed in the database before it starts ([`TurnStore::begin_turn`]): at most one
//! turn runs per chat, across every instance that shares the database. The instance running it
//! refreshes its heartbeat ([`TurnStore::heartbeat_turn`]) and ends it ([`TurnStore::end_turn`]).
//!
//! A turn whose process died is *stale*:
//! - on SQLite (one process owns the file, see [`crate::SqliteStore`]), every running turn that
//!   another store instance began is stale, so a restart recovers at once;
//! - on PostgreSQL, a running turn whose heartbeat is older than the lease
//!   ([`StoreConfig::turn_lease`](crate::StoreConfig::turn_lease)), by the database's clock.
//!
//! Stale turns are interrupted when found (at start-up by [`TurnStore::interrupt_stale_turns`],
//! and whenever [`TurnStore::begin_turn`], [`TurnStore::running_turn`] or [`TurnStore::turn`]
//! meets one): their assistant message is marked incomplete, or stored empty and incomplete if
//! the turn never stored one.
//!
//! On a shared database ([`TurnStore::is_shared`]) the running instance also appends every part
//! of the turn ([`TurnStore::append_turn_parts`]); other instances read them from any position
//! ([`TurnStore::turn_parts`]) and wake up on [`TurnStore::subscribe_turns`] (PostgreSQL
//! LISTEN/NOTIFY) instead of polling.

use std::sync::Arc;

use aomi_core::{ChatMessage, UiChunk};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::StoreError;

/// A turn to claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTurn {
    /// The turn's id (unique).
    pub id: String,
    /// Its chat.
    pub chat_id: String,
    /// The assistant message it writes into.
    pub message_id: String,
}

/// What [`TurnStore::start_turn`] stores.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnStart {
    /// The chat, created if new. Its `owner` is the wallet the turn speaks for: a chat that has an
    /// owner takes turns from that wallet only ([`StoreError::NotOwner`]).
    pub chat: crate::NewChat,
    /// The turn; its `chat_id` is the chat's id.
    pub turn: NewTurn,
    /// The user's new message, if the turn has one.
    pub message: Option<aomi_core::ChatMessage>,
    /// The id of a user message on the chat's line that `message` replaces (an edit, or the same
    /// words asked again for another answer): the line from it on is set aside as a branch first
    /// (see [`BranchStore`](crate::BranchStore)). [`StoreError::InvalidInput`] when it is not a
    /// user message on the line.
    pub replaces: Option<String>,
    /// The most messages the chat may hold when `message` arrives: a chat that holds as many
    /// refuses it ([`StoreError::ChatFull`]), and nothing is written. `None`: no limit.
    pub max_messages: Option<u64>,
}

/// What [`TurnStore::start_turn`] read in its transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnStarted {
    /// The chat as it was before the claim (`running` is false unless a stale turn ran).
    pub chat: crate::ChatRecord,
    /// The chat's messages after the new one was stored, oldest first (as
    /// [`ChatStore::messages`](crate::ChatStore::messages)).
    pub history: Vec<ChatMessage>,
    /// The chat's compaction, if it has one (as
    /// [`CompactionStore::compaction`](crate::CompactionStore::compaction)): the turn's model
    /// call needs it, and reading it here saves a round trip before that call.
    pub compaction: Option<crate::CompactionRecord>,
}

impl TurnStart {
    /// Refuses a turn of another chat than its chat.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.turn.chat_id != self.chat.id {
            return Err(StoreError::InvalidInput(format!(
                "turn {} is in chat {}, not {}",
                self.turn.id, self.turn.chat_id, self.chat.id
            )));
        }
        Ok(())
    }
}

/// Where a turn stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnState {
    /// It runs, and its instance is alive.
    Running,
    /// It ended normally (including with an error it reported).
    Finished,
    /// It was cut off: its instance stopped or died.
    Interrupted,
}

impl TurnState {
    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TurnState::Running => "running",
            TurnState::Finished => "finished",
            TurnState::Interrupted => "interrupted",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "running" => Ok(TurnState::Running),
            "finished" => Ok(TurnState::Finished),
            "interrupted" => Ok(TurnState::Interrupted),
            other => Err(StoreError::Corrupt(format!("unknown turn state \"{other}\""))),
        }
    }
}

/// A turn as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRecord {
    /// The turn's id.
    pub id: String,
    /// Its chat.
    pub chat_id: String,
    /// The assistant message it writes into.
    pub message_id: String,
    /// The store instance that runs (or ran) it.
    pub instance: String,
    /// Where it stands.
    pub state: TurnState,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// What a turn subscription reports: the id of a turn that got new parts or ended, or
/// [`ANY_TURN`] when notifications may have been missed (re-read everything).
pub type TurnEvent = Arc<str>;

/// The [`TurnEvent`] that means "any turn may have changed".
pub const ANY_TURN: &str = "*";

/// Running turns and their parts.
#[async_trait]
pub trait TurnStore: Send + Sync {
    /// The id of this store instance (one per [`connect`](crate::connect)); turns record it.
    fn instance_id(&self) -> &str;

    /// True when several processes may share the database (PostgreSQL): then turns publish
    /// their parts so that another instance can stream them.
    fn is_shared(&self) -> bool;

    /// How often a running turn on a shared store should call [`TurnStore::heartbeat_turn`]: a
    /// third of the lease.
    fn heartbeat_interval(&self) -> std::time::Duration;

    /// Claims the chat for a new turn. [`StoreError::TurnRunning`] when a live turn runs in it;
    /// a stale one is interrupted first.
    async fn begin_turn(&self, turn: &NewTurn) -> Result<(), StoreError>;

    /// Everything a turn stores before its model is called, in one transaction: the chat (created
    /// if new, as [`ChatStore::ensure_chat`](crate::ChatStore::ensure_chat)), the claim (as
    /// [`TurnStore::begin_turn`]) and the user's new message. One commit instead of three: on
    /// SQLite every commit queues for the one write connection. Returns the chat as it was before
    /// the claim, and its history with the new message, read in the same transaction (the turn's
    /// next read, without a round trip of its own). Nothing is written when it fails:
    /// [`StoreError::NotOwner`] when the chat is another wallet's (checked on the chat's row
    /// inside the transaction, so that two wallets creating the same chat at once cannot both
    /// write to it), [`StoreError::ChatFull`], [`StoreError::TurnRunning`], and
    /// [`StoreError::DuplicateMessage`] when the chat already holds a message with that id.
    async fn start_turn(&self, start: &TurnStart) -> Result<TurnStarted, StoreError>;

    /// Tells other instances that the turn is still alive.
    async fn heartbeat_turn(&self, turn_id: &str) -> Result<(), StoreError>;

    /// Ends the turn in `state` (`Finished` or `Interrupted`) and wakes its followers. Does
    /// nothing if it already ended.
    async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError>;

    /// Stores the turn's assistant `message` in `chat_id` (as
    /// [`ChatStore::put_message`](crate::ChatStore::put_message)) and ends the turn (as
    /// [`TurnStore::end_turn`]), in one commit: a turn's last save and its end are one write
    /// instead of two on the path every turn takes. Nothing is written when either fails.
    async fn end_turn_with_message(
        &self,
        turn_id: &str,
        state: TurnState,
        chat_id: &str,
        message: &ChatMessage,
    ) -> Result<(), StoreError>;

    /// The turn, with a stale one interrupted first.
    async fn turn(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError>;

    /// The chat's live running turn, if any (a stale one is interrupted and not returned).
    async fn running_turn(&self, chat_id: &str) -> Result<Option<TurnRecord>, StoreError>;

    /// Interrupts every stale turn (see the module doc) and returns them.
    async fn interrupt_stale_turns(&self) -> Result<Vec<TurnRecord>, StoreError>;

    /// Appends parts `first_seq ..` of a running turn and wakes its followers.
    async fn append_turn_parts(&self, turn_id: &str, first_seq: u64, parts: &[UiChunk]) -> Result<(), StoreError>;

    /// The turn's parts from `from_seq` on, in order.
    async fn turn_parts(&self, turn_id: &str, from_seq: u64) -> Result<Vec<UiChunk>, StoreError>;

    /// Events of turns that got parts or ended, on any instance sharing the database. Subscribe
    /// before reading parts, so an event in between is not missed.
    async fn subscribe_turns(&self) -> Result<broadcast::Receiver<TurnEvent>, StoreError>;

    /// Deletes the parts of turns that ended more than `older_than` ago (followers have read
    /// them by then). Returns how many parts were deleted.
    async fn prune_turn_parts(&self, older_than: std::time::Duration) -> Result<u64, StoreError>;
}
