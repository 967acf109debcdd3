//! Persistence of aomi: chats and their messages, running turns, contracts and requested
//! transactions, in one database shared by every app.
//!
//! One implementation of one [`Store`] trait, on sqlx, for two databases:
//! - [`SqliteStore`], the default: one file (`.aomi/aomi.db` unless `AOMI_DATA_DIR` says
//!   otherwise), WAL mode, created on first run, owned by one process (a lock file refuses a
//!   second one);
//! - [`PgStore`], `AOMI_DATABASE_URL=postgres://…`: several aomi instances share it; a turn
//!   running on one can be streamed from another (parts in `turn_parts`, woken by LISTEN/NOTIFY).
//!
//! [`connect`] picks one from a URL and runs the migrations (`migrations/{sqlite,postgres}/`,
//! kept per database because their DDL differs).
//!
//! The traits, one per concern: [`ChatStore`] (chats, messages, owners, search), [`BranchStore`]
//! (the lines of a chat set aside by an edit or a regenerated answer), [`TurnStore`]
//! (running turns and their parts), [`ContractStore`] (the contract database),
//! [`TransactionStore`] (requested transactions), [`BatchStore`] (the chats' pending batches), [`AuthStore`] (sign-in nonces and session
//! generations), [`FactStore`] (labels, token metadata and notes, global or per wallet),
//! [`AnswerCache`] (remote answers kept briefly), [`TelegramStore`] (the Telegram front end's chats,
//! wallets and one-time links), [`GuardStore`] (each wallet's spend guards), [`CompactionStore`] (each chat's summary of its
//! older turns). A caller that needs one takes `Arc<dyn ContractStore>` (an `Arc<dyn Store>`
//! coerces to it). Wallets and contracts are [`aomi_core::Address`] values, checked where their
//! text entered aomi; the store writes and serialises them lower case.
//!
//! # Shape: one store over a dialect
//!
//! [`SqlStore<D>`](SqlStore) implements every trait once: each statement (with `$n` placeholders,
//! which SQLite reads too) and each row mapping is written once, in `src/sql/` (a file per
//! trait). `D` is a dialect, [`SqliteDialect`] or [`PgDialect`] (`src/sqlite.rs`,
//! `src/postgres.rs`), and holds only what differs: how time, spans and JSON are stored (integer
//! microseconds / `timestamptz`, text / `jsonb`: sqlx `Encode`/`Decode` impls of three small value
//! types), when a running turn is live (this instance / a fresh heartbeat), the database's clock,
//! row locks, the full-text search (FTS5 / `tsvector`), how a batch of turn parts is inserted,
//! and how followers are woken (a broadcast in the process / NOTIFY relayed by LISTEN).
//! `SqliteStore` and `PgStore` are `SqlStore<SqliteDialect>` and `SqlStore<PgDialect>`.
//!
//! Why generic over sqlx's typed drivers and not sqlx's `Any` driver: `Any` knows only a few
//! plain types (no `timestamptz`, `jsonb`, arrays, LISTEN), so every time and JSON column would be
//! cast by hand in SQL, and a wrong type would show at run time. The cost of generics is sqlx's
//! per-type bounds, which Rust does not carry from a trait to its users; `src/engine.rs` names
//! them once (the `Engine` trait, implemented for every database that meets them), so the store's
//! code carries the single bound `D: Dialect`.
//!
//! On SQLite the writes run on a thread of their own (`src/writer.rs`; why, and what it gains, in
//! docs/benchmarks.md); on PostgreSQL on the caller's runtime. A write that claims a turn runs to
//! its end even when its caller goes away, and a claim nobody received is released.
//!
//! Write policy: every call commits before it returns. The server stores the user message before
//! the model is called and the assistant message each time a step completes, so a crash loses
//! at most the step in flight, and the turn is marked incomplete when the crash is noticed.

pub mod auth;
mod batch;
mod branch;
mod chat;
mod compaction;
mod config;
mod contract;
mod dialect;
mod engine;
mod error;
mod fact;
mod guard;
mod migrate;
mod postgres;
mod script;
mod sql;
mod sqlite;
pub mod telegram;
#[cfg(feature = "testing")]
pub mod testing;
mod transaction;
pub mod turn;
mod values;
mod write_conn;
mod writer;

use async_trait::async_trait;

pub use auth::AuthStore;
pub use batch::{BatchStepRecord, BatchStore, StageOutcome};
pub use branch::{BranchRecord, BranchStore, Fork};
pub use chat::{
    ChatCursor, ChatPage, ChatQuery, ChatRecord, ChatStore, MAX_PAGE, NewChat, SearchHit, SearchQuery, UserRecord,
};
pub use compaction::{CompactionRecord, CompactionStore};
pub use config::{
    DATABASE_FILE, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_TURN_LEASE, Location, StoreConfig,
    connect, connect_with,
};
pub use contract::{ContractRecord, ContractStore};
pub use error::StoreError;
pub use fact::{AnswerCache, FactKind, FactQuery, FactRecord, FactStore, GLOBAL};
pub use guard::{GuardRecord, GuardStore};
pub use postgres::{PgDialect, PgStore};
pub use sql::SqlStore;
pub use sqlite::{SqliteDialect, SqliteStore};
pub use telegram::{TelegramChat, TelegramStore};
pub use transaction::{NewTransaction, TransactionOutcome, TransactionRecord, TransactionStore};
pub use turn::{NewTurn, TurnRecord, TurnStart, TurnStarted, TurnState, TurnStore};

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
pub trait Store:
    ChatStore
    + BranchStore
    + TurnStore
    + ContractStore
    + TransactionStore
    + BatchStore
    + AuthStore
    + FactStore
    + AnswerCache
    + TelegramStore
    + GuardStore
    + CompactionStore
    + std::fmt::Debug
{
    /// The database.
    fn kind(&self) -> StoreKind;

    /// Where the data lives, for logs (never a password).
    fn describe(&self) -> String;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}
