//! The SQLite dialect: one file, one process.

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::DateTime;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous, SqliteTypeInfo, SqliteValueRef,
};
use sqlx::{ConnectOptions, Connection, Database, Decode, Encode, Pool, Sqlite, Type};

use crate::dialect::{Dialect, Events, JsonText, Span, Time};
use crate::engine::{Bind, Sql};
use crate::sql::SqlStore;
use crate::write_conn::WritePath;
use crate::writer::Writer;
use crate::{StoreConfig, StoreError, StoreKind, migrate};

/// How long a write waits for SQLite's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite store.
///
/// One process owns the file: it takes an exclusive lock on `<file>.lock` for its lifetime, so
/// a second `aomi serve` on the same data directory fails with [`StoreError::InUse`] instead of
/// interrupting the first one's turns. Because of that lock, every running turn begun by another
/// store instance is stale (its process died), and start-up interrupts it at once.
///
/// Writes take turns on one connection that the store holds (SQLite has one writer at a time;
/// queuing them avoids `SQLITE_BUSY`), on the [`Writer`] thread; reads go through a pool of up to
/// `max_connections` (WAL lets them run while a write commits). Times are Unix microseconds,
/// JSON is text, and search is FTS5.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// What only SQLite needs: where the file is.
#[derive(Debug)]
pub struct SqliteDialect {
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    pub async fn open(path: &Path, config: &StoreConfig) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_owned(), source })?;
        }
        let lock = lock_file(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL never corrupts and loses nothing on a process crash (only,
            // perhaps, the last commits on a power cut), and spares an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let connect_error = |source| StoreError::Connect { target: path.display().to_string(), source };
        // Writes take turns on one connection, held for the store's life (see `WritePath`).
        let mut write = options.connect().await.map_err(connect_error)?;
        migrate::migrator(migrate::SQLITE).run(&mut write).await?;
        let read = config
            .pool_options::<Sqlite>()
            .max_connections(config.max_connections.max(1))
            .connect_with(options.read_only(true))
            .await
            .map_err(connect_error)?;
        let dialect = SqliteDialect { path: Some(path.to_owned()) };
        Ok(SqlStore::new(
            dialect,
            read,
            WritePath::held(write, config.acquire_timeout),
            Some(Writer::start()?),
            Some(lock),
        ))
    }

    /// A fresh database in memory, gone with the store.
    pub async fn memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().in_memory(true).foreign_keys(true);
        // Each connection to `:memory:` is its own database: one connection, never recycled.
        let pool = StoreConfig::new(crate::Location::SqliteMemory)
            .pool_options::<Sqlite>()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target: ":memory:".into(), source })?;
        migrate::migrator(migrate::SQLITE).run(&pool).await?;
        Ok(SqlStore::new(
            SqliteDialect { path: None },
            pool.clone(),
            WritePath::Pool(pool),
            Some(Writer::start()?),
            None,
        ))
    }
}

/// Takes the exclusive lock of the database at `path`, or says who holds it.
fn lock_file(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Io { path: lock_path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(path.to_owned())),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io { path: lock_path, source }),
    }
}

impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const KIND: StoreKind = StoreKind::Sqlite;

    // IMMEDIATE takes the write lock at once: a deferred transaction that reads and then writes
    // could fail to upgrade its lock without waiting.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";

    // One query string runs several statements: one hop to the connection's thread.
    const JOINS_SCRIPTS: bool = true;

    // One process owns the file, so a turn is live exactly when this store instance runs it.
    const LIVE_TURN: &'static str = "t.instance = $1";

    const NOW: &'static str = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)";

    // A write transaction holds the database's one write lock already.
    const LOCK_ROW: &'static str = "";

    const NOTIFY: Option<&'static str> = None;

    const SEARCH: &'static str = "SELECT m.chat_id, c.title, c.archived, m.id, m.role, m.created_at,
            snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet
        FROM messages_fts
        JOIN messages m ON m.seq = messages_fts.rowid
        JOIN chats c ON c.id = m.chat_id
        WHERE messages_fts MATCH $1 AND c.owner = $2
        ORDER BY messages_fts.rank, m.created_at DESC
        LIMIT $3";

    fn search_query(terms: &[String]) -> String {
        // FTS5: each term quoted (so no word is an operator), `*` for a word's beginning.
        terms.iter().map(|term| format!("\"{term}\"*")).collect::<Vec<_>>().join(" ")
    }

    fn text(text: &str) -> Cow<'_, str> {
        Cow::Borrowed(text)
    }

    fn bind_liveness<B: Bind<Sqlite>>(&self, statement: B, instance: &str) -> B {
        statement.bind_next(instance.to_owned())
    }

    fn heartbeat_interval(&self) -> Duration {
        // Nobody else reads it: one process owns the file.
        crate::DEFAULT_TURN_LEASE / 3
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("SQLite at {}", path.display()),
            None => "SQLite in memory".into(),
        }
    }

    async fn append_parts(
        conn: &mut SqliteConnection,
        turn_id: &str,
        parts: Vec<(i64, JsonText)>,
    ) -> Result<(), StoreError> {
        let mut tx = conn.begin_with(Self::BEGIN).await?;
        for (seq, part) in parts {
            Sql::<Sqlite>::new("INSERT INTO turn_parts (turn_id, seq, part) VALUES ($1, $2, $3)")
                .bind(turn_id)
                .bind(seq)
                .bind(part)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn listen(&self, _pool: &Pool<Sqlite>, _events: &Events) -> Result<(), StoreError> {
        // The store sends its own events: no other process writes the file.
        Ok(())
    }
}

// Times: INTEGER Unix microseconds.

impl Type<Sqlite> for Time {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Time {
    fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode_by_ref(&self.0.timestamp_micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Time {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let micros = <i64 as Decode<Sqlite>>::decode(value)?;
        DateTime::from_timestamp_micros(micros).map(Time).ok_or_else(|| format!("time {micros} out of range").into())
    }
}

// Spans: INTEGER microseconds.

impl Type<Sqlite> for Span {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Span {
    fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode_by_ref(&i64::try_from(self.0.as_micros()).unwrap_or(i64::MAX), buf)
    }
}

// JSON: TEXT, as written (SQLite keeps NUL characters).

impl Type<Sqlite> for JsonText {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for JsonText {
    fn encode(self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.0, buf)
    }

    fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for JsonText {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <String as Decode<Sqlite>>::decode(value).map(JsonText)
    }
}
