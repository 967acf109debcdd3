//! The SQLite store: one file, one process.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aomi_core::{ChatMessage, UiChunk};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};
use tokio::sync::broadcast;

use crate::auth;
use crate::turn::TurnEvent;
use crate::values::{self, from_micros, to_micros};
use crate::{
    AuthStore, ChatPage, ChatQuery, ChatRecord, ChatStore, ContractRecord, ContractStore, NewChat, NewTransaction,
    NewTurn, SearchHit, SearchQuery, Store, StoreConfig, StoreError, StoreKind, TransactionOutcome, TransactionRecord,
    TransactionStore, TurnRecord, TurnStart, TurnState, TurnStore, UserRecord, migrate,
};

/// How long a write waits for SQLite's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The columns of a [`ChatRecord`]; `?1` is this store's instance id (a turn it runs is live).
macro_rules! select_chat {
    () => {
        "SELECT c.id, c.owner, c.app, c.title, c.chain_id, c.archived, c.created_at, c.updated_at,
                EXISTS (SELECT 1 FROM turns t WHERE t.chat_id = c.id AND t.state = 'running' AND t.instance = ?1)
                    AS running
         FROM chats c "
    };
}

const SELECT_TURN: &str =
    "SELECT id, chat_id, message_id, instance, state, started_at, ended_at FROM turns WHERE id = ?1";

/// The SQLite store.
///
/// One process owns the file: it takes an exclusive lock on `<file>.lock` for its lifetime, so
/// a second `aomi serve` on the same data directory fails with [`StoreError::InUse`] instead of
/// interrupting the first one's turns. Because of that lock, every running turn begun by another
/// store instance is stale (its process died), and start-up interrupts it at once.
///
/// Writes go through one connection (SQLite has one writer at a time; queuing them in the pool
/// avoids `SQLITE_BUSY`), reads through a pool of up to `max_connections` (WAL lets them run
/// while a write commits). The writes of a turn (claiming it, storing its messages, ending it)
/// run on a thread of their own ([`Writer`]): a transaction holds the one write connection for
/// several round trips to SQLite, and on the server's runtime each round trip waited behind every
/// streaming turn's task, so that with 100 chats at once the queue for the connection, not
/// SQLite, made most of a turn's time to first token.
#[derive(Debug)]
pub struct SqliteStore {
    shared: Arc<Shared>,
    writer: Writer,
    path: Option<PathBuf>,
    _lock: Option<File>,
}

/// What the store's methods use, on the caller's runtime or on the [`Writer`]'s.
#[derive(Debug)]
struct Shared {
    write: SqlitePool,
    read: SqlitePool,
    instance: String,
    events: broadcast::Sender<TurnEvent>,
}

/// A thread with a runtime that runs only write transactions, so that the statements of one
/// follow each other without waiting for a busy runtime to poll them. Stops when dropped (a
/// caller waiting on it holds the store, so nothing is cut off).
#[derive(Debug)]
struct Writer {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Writer {
    fn start() -> Result<Writer, StoreError> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(StoreError::WriterThread)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("aomi-sqlite-writer".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(StoreError::WriterThread)?;
        Ok(Writer { handle, _stop: stop })
    }

    /// Runs `work` on the writer's thread and waits for it.
    async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self.handle.spawn(work).await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(StoreError::Closed),
        }
    }
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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        migrate::migrator(migrate::SQLITE).run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options.read_only(true))
            .await
            .map_err(connect_error)?;
        Self::with_pools(write, read, Some(path.to_owned()), Some(lock))
    }

    /// A fresh database in memory, gone with the store.
    pub async fn memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().in_memory(true).foreign_keys(true);
        // Each connection to `:memory:` is its own database: one connection, never recycled.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target: ":memory:".into(), source })?;
        migrate::migrator(migrate::SQLITE).run(&pool).await?;
        Self::with_pools(pool.clone(), pool, None, None)
    }

    fn with_pools(
        write: SqlitePool,
        read: SqlitePool,
        path: Option<PathBuf>,
        lock: Option<File>,
    ) -> Result<Self, StoreError> {
        let (events, _) = broadcast::channel(1024);
        let shared = Shared { write, read, instance: uuid::Uuid::new_v4().simple().to_string(), events };
        Ok(SqliteStore { shared: Arc::new(shared), writer: Writer::start()?, path, _lock: lock })
    }

    /// Runs `work` with the shared state on the [`Writer`]'s thread.
    async fn on_writer<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.writer.run(work(Arc::clone(&self.shared))).await
    }

    /// [`SqliteStore::on_writer`] for a write that claims turn `turn_id`. The write runs to its
    /// end even if the caller stops waiting (a dropped request); a claim that nobody received is
    /// then released (the turn ended as interrupted), as the server releases a claim it does not
    /// use, so that the chat does not refuse its next turns.
    async fn claim_on_writer<T, F, Fut>(&self, turn_id: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let turn_id = turn_id.to_owned();
        let (result_tx, result_rx) = tokio::sync::oneshot::channel();
        let write = work(Arc::clone(&shared));
        self.writer.handle.spawn(async move {
            let result = write.await;
            let claimed = result.is_ok();
            if result_tx.send(result).is_err() && claimed {
                tracing::info!(turn = %turn_id, "releasing a turn claimed for a request that went away");
                if let Err(error) = shared.end_turn(&turn_id, TurnState::Interrupted).await {
                    tracing::error!(%error, turn = %turn_id, "could not release an unused turn");
                }
            }
        });
        // A write that panicked dropped its sender.
        result_rx.await.map_err(|_| StoreError::Closed)?
    }
}

impl Shared {
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError> {
        let mut tx = self.begin().await?;
        let record = ensure_chat_in(&mut tx, &self.instance, &chat).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        put_message_in(&mut tx, chat_id, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_title_if_missing(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE chats SET title = ?2 WHERE id = ?1 AND title IS NULL")
            .bind(id)
            .bind(title)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn begin_turn(&self, turn: &NewTurn) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let interrupted = begin_turn_in(&mut tx, &self.instance, turn).await?;
        tx.commit().await?;
        if let Some(id) = interrupted {
            self.notify(&id);
        }
        Ok(())
    }

    async fn start_turn(&self, start: &TurnStart) -> Result<ChatRecord, StoreError> {
        start.check()?;
        let mut tx = self.begin().await?;
        let chat = ensure_chat_in(&mut tx, &self.instance, &start.chat).await?;
        let interrupted = begin_turn_in(&mut tx, &self.instance, &start.turn).await?;
        if let Some(message) = &start.message {
            let exists = sqlx::query("SELECT 1 FROM messages WHERE chat_id = ?1 AND id = ?2")
                .bind(&start.chat.id)
                .bind(&message.id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_some() {
                return Err(StoreError::DuplicateMessage(message.id.clone()));
            }
            put_message_in(&mut tx, &start.chat.id, message).await?;
        }
        tx.commit().await?;
        if let Some(id) = interrupted {
            self.notify(&id);
        }
        Ok(chat)
    }

    async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        sqlx::query("UPDATE turns SET state = ?2, ended_at = ?3 WHERE id = ?1 AND state = 'running'")
            .bind(turn_id)
            .bind(state.as_str())
            .bind(to_micros(values::now()))
            .execute(&self.write)
            .await?;
        self.notify(turn_id);
        Ok(())
    }

    async fn heartbeat_turn(&self, turn_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE turns SET heartbeat_at = ?2 WHERE id = ?1 AND state = 'running'")
            .bind(turn_id)
            .bind(to_micros(values::now()))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    fn notify(&self, turn_id: &str) {
        let _ = self.events.send(turn_id.into());
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        // IMMEDIATE takes the write lock at once: a deferred transaction that reads and then writes
        // could fail to upgrade its lock without waiting.
        let started = std::time::Instant::now();
        let tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        // How long writes queue for the one write connection (RUST_LOG=aomi_store=trace).
        tracing::trace!(wait_us = started.elapsed().as_micros() as u64, "write transaction begun");
        Ok(tx)
    }

    async fn select_chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        let row = sqlx::query(concat!(select_chat!(), "WHERE c.id = ?2"))
            .bind(&self.instance)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(chat_record).transpose()
    }

    /// Interrupts a stale turn and everything it left: see [`crate::turn`].
    async fn interrupt(&self, turn_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT chat_id, message_id FROM turns WHERE id = ?1 AND state = 'running'")
            .bind(turn_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = row {
            let chat_id: String = row.try_get("chat_id")?;
            let message_id: String = row.try_get("message_id")?;
            interrupt_in(&mut tx, turn_id, &chat_id, &message_id).await?;
        }
        tx.commit().await?;
        self.notify(turn_id);
        Ok(())
    }

    fn is_stale(&self, turn: &TurnRecord) -> bool {
        turn.state == TurnState::Running && turn.instance != self.instance
    }

    async fn fresh_turn(&self, turn: Option<TurnRecord>) -> Result<Option<TurnRecord>, StoreError> {
        match turn {
            Some(turn) if self.is_stale(&turn) => {
                tracing::warn!(turn = %turn.id, chat = %turn.chat_id, "interrupting a turn left by a stopped process");
                self.interrupt(&turn.id).await?;
                self.turn_by_id(&turn.id).await
            }
            other => Ok(other),
        }
    }

    async fn turn_by_id(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let row = sqlx::query(SELECT_TURN).bind(turn_id).fetch_optional(&self.read).await?;
        row.as_ref().map(turn_record).transpose()
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

/// Creates the chat if it is new (and its owner's user row), inside a transaction; see
/// [`ChatStore::ensure_chat`].
async fn ensure_chat_in(conn: &mut SqliteConnection, instance: &str, chat: &NewChat) -> Result<ChatRecord, StoreError> {
    let owner = chat.owner.as_deref().map(values::address).transpose()?;
    let chain_id = chat.chain_id.map(values::chain_id).transpose()?;
    let now = to_micros(values::now());
    if let Some(owner) = &owner {
        sqlx::query(
            "INSERT INTO users (address, first_seen, last_seen) VALUES (?1, ?2, ?2)
             ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(owner)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO chats (id, owner, app, chain_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (id) DO UPDATE SET chain_id = COALESCE(excluded.chain_id, chats.chain_id)",
    )
    .bind(&chat.id)
    .bind(&owner)
    .bind(&chat.app)
    .bind(chain_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(concat!(select_chat!(), "WHERE c.id = ?2"))
        .bind(instance)
        .bind(&chat.id)
        .fetch_one(&mut *conn)
        .await?;
    chat_record(&row)
}

/// Claims the chat for `turn` inside a transaction, interrupting a stale turn; returns the
/// interrupted turn's id (to notify once committed). See [`TurnStore::begin_turn`].
async fn begin_turn_in(
    conn: &mut SqliteConnection,
    instance: &str,
    turn: &NewTurn,
) -> Result<Option<String>, StoreError> {
    let now = to_micros(values::now());
    let running = sqlx::query("SELECT id, message_id, instance FROM turns WHERE chat_id = ?1 AND state = 'running'")
        .bind(&turn.chat_id)
        .fetch_optional(&mut *conn)
        .await?;
    let mut interrupted = None;
    if let Some(row) = running {
        let running_instance: String = row.try_get("instance")?;
        if running_instance == instance {
            return Err(StoreError::TurnRunning(turn.chat_id.clone()));
        }
        let id: String = row.try_get("id")?;
        let message_id: String = row.try_get("message_id")?;
        interrupt_in(conn, &id, &turn.chat_id, &message_id).await?;
        interrupted = Some(id);
    }
    sqlx::query(
        "INSERT INTO turns (id, chat_id, message_id, instance, state, started_at, heartbeat_at)
         VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?5)",
    )
    .bind(&turn.id)
    .bind(&turn.chat_id)
    .bind(&turn.message_id)
    .bind(instance)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|error| {
        if values::is_foreign_key_violation(&error) {
            StoreError::ChatNotFound(turn.chat_id.clone())
        } else {
            error.into()
        }
    })?;
    Ok(interrupted)
}

/// Stores `message` in the chat inside a transaction; see [`ChatStore::put_message`].
async fn put_message_in(conn: &mut SqliteConnection, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
    let now = to_micros(values::now());
    let touched = sqlx::query("UPDATE chats SET updated_at = ?2 WHERE id = ?1")
        .bind(chat_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if touched.rows_affected() == 0 {
        return Err(StoreError::ChatNotFound(chat_id.to_owned()));
    }
    sqlx::query(
        "INSERT INTO messages (chat_id, id, ordinal, role, parts, metadata, text, created_at, updated_at)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(ordinal) + 1, 0) FROM messages WHERE chat_id = ?1), ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (chat_id, id) DO UPDATE SET
             parts = excluded.parts, metadata = excluded.metadata, text = excluded.text, updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(&message.id)
    .bind(message.role.as_str())
    .bind(values::json(&message.parts)?)
    .bind(message.metadata.as_ref().map(values::json).transpose()?)
    .bind(values::searchable_text(message))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the turn interrupted and its message incomplete, inside a transaction.
async fn interrupt_in(
    conn: &mut SqliteConnection,
    turn_id: &str,
    chat_id: &str,
    message_id: &str,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT id, role, parts, metadata FROM messages WHERE chat_id = ?1 AND id = ?2")
        .bind(chat_id)
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await?;
    let stored = row.as_ref().map(message_from_row).transpose()?;
    put_message_in(conn, chat_id, &values::interrupted(stored, message_id)).await?;
    sqlx::query("UPDATE turns SET state = 'interrupted', ended_at = ?2 WHERE id = ?1 AND state = 'running'")
        .bind(turn_id)
        .bind(to_micros(values::now()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn chat_record(row: &SqliteRow) -> Result<ChatRecord, StoreError> {
    Ok(ChatRecord {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        app: row.try_get("app")?,
        title: row.try_get("title")?,
        chain_id: row.try_get::<Option<i64>, _>("chain_id")?.map(values::chain_id_from).transpose()?,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
        archived: row.try_get("archived")?,
        running: row.try_get("running")?,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<ChatMessage, StoreError> {
    let role: String = row.try_get("role")?;
    let parts: String = row.try_get("parts")?;
    let metadata: Option<String> = row.try_get("metadata")?;
    values::message(row.try_get("id")?, &role, &parts, metadata.as_deref())
}

fn turn_record(row: &SqliteRow) -> Result<TurnRecord, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(TurnRecord {
        id: row.try_get("id")?,
        chat_id: row.try_get("chat_id")?,
        message_id: row.try_get("message_id")?,
        instance: row.try_get("instance")?,
        state: TurnState::parse(&state)?,
        started_at: from_micros(row.try_get("started_at")?)?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(from_micros).transpose()?,
    })
}

fn contract_record(row: &SqliteRow) -> Result<ContractRecord, StoreError> {
    let abi: String = row.try_get("abi")?;
    Ok(ContractRecord {
        chain_id: values::chain_id_from(row.try_get("chain_id")?)?,
        address: row.try_get("address")?,
        name: row.try_get("name")?,
        abi: values::parse_json(&abi, "contract ABI")?,
        source: row.try_get("source")?,
        verified_by: row.try_get("verified_by")?,
        fetched_at: from_micros(row.try_get("fetched_at")?)?,
        implementation: row.try_get("implementation")?,
    })
}

fn transaction_record(row: &SqliteRow) -> Result<TransactionRecord, StoreError> {
    let request: String = row.try_get("request")?;
    let simulation: Option<String> = row.try_get("simulation")?;
    let status: String = row.try_get("status")?;
    Ok(TransactionRecord {
        request: NewTransaction {
            id: row.try_get("id")?,
            chat_id: row.try_get("chat_id")?,
            message_id: row.try_get("message_id")?,
            chain_id: values::chain_id_from(row.try_get("chain_id")?)?,
            from: row.try_get("from_address")?,
            request: values::parse_json(&request, "transaction request")?,
            simulation: simulation.map(|s| values::parse_json(&s, "simulation report")).transpose()?,
        },
        outcome: TransactionOutcome::from_columns(&status, row.try_get("detail")?)?,
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError> {
        self.on_writer(move |s| async move { s.ensure_chat(chat).await }).await
    }

    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        self.shared.select_chat(id).await
    }

    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
        let (chat_id, message) = (chat_id.to_owned(), message.clone());
        self.on_writer(move |s| async move { s.put_message(&chat_id, &message).await }).await
    }

    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = sqlx::query("SELECT id, role, parts, metadata FROM messages WHERE chat_id = ?1 ORDER BY ordinal")
            .bind(chat_id)
            .fetch_all(&self.shared.read)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn list_chats(&self, query: &ChatQuery) -> Result<ChatPage, StoreError> {
        let limit = values::limit(query.limit)?;
        let owner = values::address(&query.owner)?;
        let (after_time, after_id) = match &query.after {
            Some(cursor) => (Some(to_micros(cursor.updated_at)), Some(cursor.id.as_str())),
            None => (None, None),
        };
        let rows = sqlx::query(concat!(
            select_chat!(),
            "WHERE c.owner = ?2 AND c.archived = ?3 AND (?4 IS NULL OR (c.updated_at, c.id) < (?4, ?5))
             ORDER BY c.updated_at DESC, c.id DESC LIMIT ?6"
        ))
        .bind(&self.shared.instance)
        .bind(&owner)
        .bind(query.archived)
        .bind(after_time)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&self.shared.read)
        .await?;
        let mut chats = rows.iter().map(chat_record).collect::<Result<Vec<_>, _>>()?;
        let next = values::page_end(&mut chats, limit);
        Ok(ChatPage { chats, next })
    }

    async fn rename_chat(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE chats SET title = ?2 WHERE id = ?1")
            .bind(id)
            .bind(title)
            .execute(&self.shared.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn set_title_if_missing(&self, id: &str, title: &str) -> Result<bool, StoreError> {
        let (id, title) = (id.to_owned(), title.to_owned());
        self.on_writer(move |s| async move { s.set_title_if_missing(&id, &title).await }).await
    }

    async fn set_archived(&self, id: &str, archived: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE chats SET archived = ?2 WHERE id = ?1")
            .bind(id)
            .bind(archived)
            .execute(&self.shared.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn delete_chat(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM chats WHERE id = ?1").bind(id).execute(&self.shared.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ChatNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        let limit = values::limit(query.limit)?;
        let owner = values::address(&query.owner)?;
        // Every word, each as a word or a word's beginning: "swap" finds "swapped".
        let terms = values::search_terms(&query.text)?;
        let matcher = terms.iter().map(|term| format!("\"{term}\"*")).collect::<Vec<_>>().join(" ");
        let rows = sqlx::query(
            "SELECT m.chat_id, c.title, c.archived, m.id, m.role, m.created_at,
                    snippet(messages_fts, 0, '**', '**', '…', 16) AS snippet
             FROM messages_fts
             JOIN messages m ON m.seq = messages_fts.rowid
             JOIN chats c ON c.id = m.chat_id
             WHERE messages_fts MATCH ?1 AND c.owner = ?2
             ORDER BY messages_fts.rank, m.created_at DESC
             LIMIT ?3",
        )
        .bind(matcher)
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.shared.read)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(SearchHit {
                    chat_id: row.try_get("chat_id")?,
                    chat_title: row.try_get("title")?,
                    archived: row.try_get("archived")?,
                    message_id: row.try_get("id")?,
                    role: values::role(&role)?,
                    snippet: row.try_get("snippet")?,
                    created_at: from_micros(row.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn user(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        let address = values::address(address)?;
        let row = sqlx::query("SELECT address, first_seen, last_seen FROM users WHERE address = ?1")
            .bind(&address)
            .fetch_optional(&self.shared.read)
            .await?;
        row.map(|row| {
            Ok(UserRecord {
                address: row.try_get("address")?,
                first_seen: from_micros(row.try_get("first_seen")?)?,
                last_seen: from_micros(row.try_get("last_seen")?)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl TurnStore for SqliteStore {
    fn instance_id(&self) -> &str {
        &self.shared.instance
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn heartbeat_interval(&self) -> Duration {
        // Nobody else reads it: one process owns the file.
        crate::DEFAULT_TURN_LEASE / 3
    }

    async fn begin_turn(&self, turn: &NewTurn) -> Result<(), StoreError> {
        let turn = turn.clone();
        self.claim_on_writer(&turn.id.clone(), move |s| async move { s.begin_turn(&turn).await }).await
    }

    async fn start_turn(&self, start: &TurnStart) -> Result<ChatRecord, StoreError> {
        let start = start.clone();
        self.claim_on_writer(&start.turn.id.clone(), move |s| async move { s.start_turn(&start).await }).await
    }

    async fn heartbeat_turn(&self, turn_id: &str) -> Result<(), StoreError> {
        let turn_id = turn_id.to_owned();
        self.on_writer(move |s| async move { s.heartbeat_turn(&turn_id).await }).await
    }

    async fn end_turn(&self, turn_id: &str, state: TurnState) -> Result<(), StoreError> {
        let turn_id = turn_id.to_owned();
        self.on_writer(move |s| async move { s.end_turn(&turn_id, state).await }).await
    }

    async fn turn(&self, turn_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let turn = self.shared.turn_by_id(turn_id).await?;
        self.shared.fresh_turn(turn).await
    }

    async fn running_turn(&self, chat_id: &str) -> Result<Option<TurnRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, chat_id, message_id, instance, state, started_at, ended_at
             FROM turns WHERE chat_id = ?1 AND state = 'running'",
        )
        .bind(chat_id)
        .fetch_optional(&self.shared.read)
        .await?;
        let turn = row.as_ref().map(turn_record).transpose()?;
        Ok(self.shared.fresh_turn(turn).await?.filter(|turn| turn.state == TurnState::Running))
    }

    async fn interrupt_stale_turns(&self) -> Result<Vec<TurnRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, chat_id, message_id, instance, state, started_at, ended_at
             FROM turns WHERE state = 'running' AND instance <> ?1",
        )
        .bind(&self.shared.instance)
        .fetch_all(&self.shared.read)
        .await?;
        let mut interrupted = Vec::with_capacity(rows.len());
        for row in &rows {
            let turn = turn_record(row)?;
            if let Some(turn) = self.shared.fresh_turn(Some(turn)).await? {
                interrupted.push(turn);
            }
        }
        Ok(interrupted)
    }

    async fn append_turn_parts(&self, turn_id: &str, first_seq: u64, parts: &[UiChunk]) -> Result<(), StoreError> {
        let mut tx = self.shared.begin().await?;
        for (seq, part) in (first_seq..).zip(parts) {
            sqlx::query("INSERT INTO turn_parts (turn_id, seq, part) VALUES (?1, ?2, ?3)")
                .bind(turn_id)
                .bind(values::seq_to_i64(seq)?)
                .bind(part.to_json())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.shared.notify(turn_id);
        Ok(())
    }

    async fn turn_parts(&self, turn_id: &str, from_seq: u64) -> Result<Vec<UiChunk>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT part FROM turn_parts WHERE turn_id = ?1 AND seq >= ?2 ORDER BY seq")
                .bind(turn_id)
                .bind(values::seq_to_i64(from_seq)?)
                .fetch_all(&self.shared.read)
                .await?;
        rows.iter().map(|part| values::part(part)).collect()
    }

    async fn subscribe_turns(&self) -> Result<broadcast::Receiver<TurnEvent>, StoreError> {
        Ok(self.shared.events.subscribe())
    }

    async fn prune_turn_parts(&self, older_than: Duration) -> Result<u64, StoreError> {
        let cutoff = to_micros(values::now()) - i64::try_from(older_than.as_micros()).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "DELETE FROM turn_parts WHERE turn_id IN
                 (SELECT id FROM turns WHERE state <> 'running' AND ended_at < ?1)",
        )
        .bind(cutoff)
        .execute(&self.shared.write)
        .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ContractStore for SqliteStore {
    async fn put_contract(&self, contract: &ContractRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO contracts (chain_id, address, name, abi, source, verified_by, fetched_at, implementation)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (chain_id, address) DO UPDATE SET name = excluded.name, abi = excluded.abi,
                 source = excluded.source, verified_by = excluded.verified_by, fetched_at = excluded.fetched_at,
                 implementation = excluded.implementation",
        )
        .bind(values::chain_id(contract.chain_id)?)
        .bind(values::address(&contract.address)?)
        .bind(&contract.name)
        .bind(values::json(&contract.abi)?)
        .bind(&contract.source)
        .bind(&contract.verified_by)
        .bind(to_micros(contract.fetched_at))
        .bind(contract.implementation.as_deref().map(values::address).transpose()?)
        .execute(&self.shared.write)
        .await?;
        Ok(())
    }

    async fn contract(&self, chain_id: u64, address: &str) -> Result<Option<ContractRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM contracts WHERE chain_id = ?1 AND address = ?2")
            .bind(values::chain_id(chain_id)?)
            .bind(values::address(address)?)
            .fetch_optional(&self.shared.read)
            .await?;
        row.as_ref().map(contract_record).transpose()
    }

    async fn contracts_named(&self, chain_id: u64, name: &str, limit: u32) -> Result<Vec<ContractRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM contracts WHERE chain_id = ?1 AND lower(name) LIKE ?2 ESCAPE '\\'
             ORDER BY lower(name), address LIMIT ?3",
        )
        .bind(values::chain_id(chain_id)?)
        .bind(values::like_prefix(name))
        .bind(values::limit(limit)?)
        .fetch_all(&self.shared.read)
        .await?;
        rows.iter().map(contract_record).collect()
    }
}

#[async_trait]
impl TransactionStore for SqliteStore {
    async fn put_transaction(&self, transaction: &NewTransaction) -> Result<(), StoreError> {
        let now = to_micros(values::now());
        sqlx::query(
            "INSERT INTO transactions
                 (id, chat_id, message_id, chain_id, from_address, request, simulation, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
        )
        .bind(&transaction.id)
        .bind(&transaction.chat_id)
        .bind(&transaction.message_id)
        .bind(values::chain_id(transaction.chain_id)?)
        .bind(transaction.from.as_deref().map(values::address).transpose()?)
        .bind(values::json(&transaction.request)?)
        .bind(transaction.simulation.as_ref().map(values::json).transpose()?)
        .bind(now)
        .execute(&self.shared.write)
        .await
        .map_err(|error| values::transaction_insert_error(error, transaction))?;
        Ok(())
    }

    async fn set_simulation(&self, id: &str, report: &Value) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE transactions SET simulation = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(id)
            .bind(values::json(report)?)
            .bind(to_micros(values::now()))
            .execute(&self.shared.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TransactionNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn set_transaction_outcome(&self, id: &str, outcome: &TransactionOutcome) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE transactions SET status = ?2, detail = ?3, updated_at = ?4 WHERE id = ?1")
            .bind(id)
            .bind(outcome.status())
            .bind(outcome.detail())
            .bind(to_micros(values::now()))
            .execute(&self.shared.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TransactionNotFound(id.to_owned()));
        }
        Ok(())
    }

    async fn transaction(&self, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM transactions WHERE id = ?1").bind(id).fetch_optional(&self.shared.read).await?;
        row.as_ref().map(transaction_record).transpose()
    }

    async fn chat_transactions(&self, chat_id: &str) -> Result<Vec<TransactionRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM transactions WHERE chat_id = ?1 ORDER BY created_at, id")
            .bind(chat_id)
            .fetch_all(&self.shared.read)
            .await?;
        rows.iter().map(transaction_record).collect()
    }
}

#[async_trait]
impl AuthStore for SqliteStore {
    async fn use_nonce(&self, nonce: &str, expires_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(auth::sql::USE_NONCE).bind(nonce).bind(expires_at).execute(&self.shared.write).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_generation(&self, address: &str) -> Result<u64, StoreError> {
        let stored: Option<i64> = sqlx::query_scalar(auth::sql::GENERATION)
            .bind(values::address(address)?)
            .fetch_optional(&self.shared.read)
            .await?;
        auth::generation(stored.unwrap_or(0))
    }

    async fn revoke_sessions(&self, address: &str) -> Result<u64, StoreError> {
        let stored: i64 =
            sqlx::query_scalar(auth::sql::REVOKE).bind(values::address(address)?).fetch_one(&self.shared.write).await?;
        auth::generation(stored)
    }

    async fn prune_nonces(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(auth::sql::PRUNE).bind(now).execute(&self.shared.write).await?.rows_affected())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Sqlite
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("SQLite at {}", path.display()),
            None => "SQLite in memory".into(),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.shared.read).await?;
        Ok(())
    }
}
