//! Persistence of aomi: chats and their messages, running turns, contracts and requested
//! transactions, in one database shared by every app.
//!
//! Two implementations of one [`Store`] trait, on sqlx:
//! - [`SqliteStore`], the default: one file (`.aomi/aomi.db` unless `AOMI_DATA_DIR` says
//!   otherwise), WAL mode, created on first run, owned by one process (a lock file refuses a
//!   second one);
//! - [`PgStore`], `AOMI_DATABASE_URL=postgres://…`: several aomi instances share it; a turn
//!   running on one can be streamed from another (parts in `turn_parts`, woken by LISTEN/NOTIFY).
//!
//! [`connect`] picks one from a URL and runs the migrations (`migrations/{sqlite,postgres}/`).
//!
//! The traits, one per concern: [`ChatStore`] (chats, messages, owners, search), [`TurnStore`]
//! (running turns and their parts), [`ContractStore`] (the contract database),
//! [`TransactionStore`] (requested transactions), [`AuthStore`] (sign-in nonces and session
//! generations). A caller that needs one takes
//! `Arc<dyn ContractStore>` (an `Arc<dyn Store>` coerces to it).
//!
//! Write policy: every call commits before it returns. The server stores the user message before
//! the model is called and the assistant message each time a step completes, so a crash loses
//! at most the step in flight, and the turn is marked incomplete when the crash is noticed.

pub mod auth;
mod chat;
mod config;
mod contract;
mod error;
mod migrate;
mod postgres;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod transaction;
pub mod turn;
mod values;

use async_trait::async_trait;

pub use auth::AuthStore;
pub use chat::{
    ChatCursor, ChatPage, ChatQuery, ChatRecord, ChatStore, MAX_PAGE, NewChat, SearchHit, SearchQuery, UserRecord,
};
pub use config::{
    DATABASE_FILE, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_TURN_LEASE, Location, StoreConfig,
    connect, connect_with,
};
pub use contract::{ContractRecord, ContractStore};
pub use error::StoreError;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use transaction::{NewTransaction, TransactionOutcome, TransactionRecord, TransactionStore};
pub use turn::{NewTurn, TurnRecord, TurnStart, TurnState, TurnStore};

/// Which database a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Everything aomi keeps.
#[async_trait]
pub trait Store: ChatStore + TurnStore + ContractStore + TransactionStore + AuthStore + std::fmt::Debug {
    /// The database.
    fn kind(&self) -> StoreKind;

    /// Where the data lives, for logs (never a password).
    fn describe(&self) -> String;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}
