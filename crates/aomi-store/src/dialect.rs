//! The seam between the one SQL store ([`crate::sql::SqlStore`]) and a database: what differs
//! between SQLite and PostgreSQL, and nothing else.
//!
//! - **Values** whose column types differ: [`Time`] (integer microseconds in SQLite, `timestamptz`
//!   in PostgreSQL), [`Span`] (microseconds, `interval`), [`JsonText`] (text, `jsonb`). Each
//!   database's module implements sqlx's `Encode`/`Decode`/`Type` for them, so a statement binds
//!   and reads them the same way on both.
//! - **SQL fragments**: when a running turn is live ([`Dialect::LIVE_TURN`]: the store's own
//!   instance on SQLite, a fresh heartbeat on PostgreSQL), the database's clock ([`Dialect::NOW`]),
//!   row locks, how a write transaction begins, and the full-text search (FTS5 or `tsvector`).
//! - **Waking followers** of a turn: NOTIFY in the writing transaction, relayed by a LISTEN
//!   connection ([`Dialect::NOTIFY`], [`Dialect::listen`]), or, on a database one process owns,
//!   a broadcast in the process after the commit.
//! - **Scripts** ([`Dialect::JOINS_SCRIPTS`]): statements sent together in one query
//!   (SQLite), or one after the other (PostgreSQL); see [`crate::script`].
//! - **Appending a batch of turn parts** ([`Dialect::append_parts`]): one statement over arrays in
//!   PostgreSQL, a statement per part in SQLite.
//!
//! Statements are written once, with `$n` placeholders (SQLite reads `$n` as the n-th argument too).

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::StoreError;
use crate::StoreKind;
use crate::engine::{Bind, Engine};
use crate::turn::TurnEvent;

/// A point in time as a column holds it: see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

/// A length of time as an argument: see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

/// A JSON document as its text. Written to a `jsonb` column, PostgreSQL's form replaces each NUL
/// character, which `jsonb` refuses (see [`crate::postgres`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(pub String);

impl JsonText {
    /// `value` as JSON.
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, StoreError> {
        serde_json::to_string(value)
            .map(JsonText)
            .map_err(|e| StoreError::InvalidInput(format!("cannot encode as JSON: {e}")))
    }

    /// The document read back as a `T`; `what` names it in the error.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, StoreError> {
        crate::values::parse_json(&self.0, what)
    }
}

/// Where a store sends its turn events (see [`crate::turn::TurnEvent`]).
pub type Events = broadcast::Sender<TurnEvent>;

/// A database the SQL store runs on. One value per store: it holds what only its database needs
/// (SQLite's file lock, PostgreSQL's lease and LISTEN task).
pub trait Dialect: Send + Sync + std::fmt::Debug + Sized + 'static {
    /// The sqlx database.
    type Db: Engine;

    /// Which one, for callers.
    const KIND: StoreKind;

    /// The statement that begins a write transaction.
    const BEGIN: &'static str;

    /// A condition on a `running` turn `t` that holds while it is live; `$1` is the argument
    /// [`Dialect::bind_liveness`] binds.
    const LIVE_TURN: &'static str;

    /// An expression of the database's clock, now, as a [`Time`] column holds it.
    const NOW: &'static str;

    /// Appended to a `SELECT` of a turn to claim over: locks the row until the transaction ends
    /// (empty where a write transaction already excludes every other writer).
    const LOCK_ROW: &'static str;

    /// The statement that wakes a turn's followers on other instances, `$1` the turn id, run in
    /// the writing transaction; `None` where no other process reads the database. A database with
    /// one is shared: its turns publish their parts (`TurnStore::is_shared`).
    const NOTIFY: Option<&'static str>;

    /// The full-text search: `$1` the query from [`Dialect::search_query`], `$2` the owner, `$3`
    /// the limit; the columns `chat_id, title, archived, id, role, created_at, snippet`.
    const SEARCH: &'static str;

    /// The search's query from its words (letters and digits only, lower case): every word,
    /// each as a word or a word's beginning.
    fn search_query(terms: &[String]) -> String;

    /// Text a person or a model wrote, as the database's TEXT takes it.
    fn text(text: &str) -> Cow<'_, str>;

    /// Whether a [`crate::script::Script`]'s statements are joined into one query (see [`crate::script`]).
    const JOINS_SCRIPTS: bool;

    /// Binds the argument of [`Dialect::LIVE_TURN`] to a statement; `instance` is the store's.
    fn bind_liveness<B: Bind<Self::Db>>(&self, statement: B, instance: &str) -> B;

    /// How often a running turn should call `heartbeat_turn`.
    fn heartbeat_interval(&self) -> Duration;

    /// Where the data lives, for logs (never a password).
    fn describe(&self) -> String;

    /// Inserts the turn's parts (each with its number) in one commit on `conn`, a write
    /// connection, and wakes other instances' followers (see [`Dialect::NOTIFY`]).
    fn append_parts(
        conn: &mut <Self::Db as sqlx::Database>::Connection,
        turn_id: &str,
        parts: Vec<(i64, JsonText)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Starts relaying other instances' notifications to `events`, once (see [`Dialect::NOTIFY`]).
    fn listen(
        &self,
        pool: &sqlx::Pool<Self::Db>,
        events: &Events,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
