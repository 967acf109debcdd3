//! [`SqlStore`]: every store trait, implemented once over a [`Dialect`].
//!
//! Each statement and each row mapping is written here once; what differs between the databases
//! comes from the dialect (see [`crate::dialect`]). The traits' implementations are in one file
//! per trait; this file holds the store, its connections, its write path and the statements a
//! dialect completes.

mod auth;
mod batches;
mod branches;
mod chats;
mod compactions;
mod contracts;
mod facts;
mod guards;
mod telegram;
mod transactions;
mod turns;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Pool};
use tokio::sync::broadcast;

use crate::dialect::Dialect;
use crate::engine::Sql;
use crate::script::{Ran, Script, ScriptError};
use crate::turn::TurnEvent;
use crate::write_conn::{WriteConn, WritePath, WriteTx};
use crate::writer::Writer;
use crate::{Store, StoreError, StoreKind};

/// The store on a database of dialect `D` ([`crate::SqliteStore`], [`crate::PgStore`]).
///
/// Reads go through a pool; writes through the same pool on PostgreSQL, and through the one
/// write connection the store holds on a SQLite file ([`WritePath`]), each call one transaction
/// committed before it returns. Where the dialect gives a [`Writer`] (SQLite), writes run on its
/// thread.
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    inner: Arc<Inner<D>>,
    writer: Option<Writer>,
    /// A lock file held while the store lives (SQLite's, see [`crate::SqliteStore`]): here, not
    /// in `inner`, so that dropping the store releases it at once, while a write finishing on the
    /// writer thread may still hold `inner` for a moment.
    _lock: Option<std::fs::File>,
}

/// What the store's methods use, on the caller's runtime or on the [`Writer`]'s.
#[derive(Debug)]
struct Inner<D: Dialect> {
    dialect: D,
    read: Pool<D::Db>,
    write: WritePath<D::Db>,
    instance: String,
    events: broadcast::Sender<TurnEvent>,
    sql: Statements,
}

/// The statements a dialect completes ([`Dialect::LIVE_TURN`], [`Dialect::NOW`],
/// [`Dialect::LOCK_ROW`]), composed once per store.
#[derive(Debug)]
struct Statements {
    chat_by_id: Arc<str>,
    /// `chat_by_id` with the number of messages the chat holds (column `messages`) and whether
    /// a turn of it is marked running, live or stale (`any_running`).
    chat_at_start: Arc<str>,
    chats_page: Arc<str>,
    turn_by_id: Arc<str>,
    turn_by_id_locked: Arc<str>,
    running_turn: Arc<str>,
    running_turn_locked: Arc<str>,
    stale_turns: Arc<str>,
    insert_turn: Arc<str>,
    end_turn: Arc<str>,
    interrupt_turn: Arc<str>,
    heartbeat: Arc<str>,
    prune_parts: Arc<str>,
}

/// The columns of a `ChatRecord`; `$1` is the liveness argument (a running turn counts only
/// while live).
const CHAT_COLUMNS: &str = "c.id, c.owner, c.app, c.title, c.chain_id, c.model, c.archived, c.created_at, c.updated_at,
        EXISTS (SELECT 1 FROM turns t WHERE t.chat_id = c.id AND t.state = 'running' AND {live}) AS running";

/// The columns of a `TurnRecord` and whether it is stale; `$1` is the liveness argument.
const SELECT_TURN: &str = "SELECT t.id, t.chat_id, t.message_id, t.instance, t.state, t.started_at, t.ended_at,
        (t.state = 'running' AND NOT ({live})) AS stale
    FROM turns t ";

impl Statements {
    fn new<D: Dialect>() -> Self {
        let compose = |template: String| -> Arc<str> {
            template.replace("{live}", D::LIVE_TURN).replace("{now}", D::NOW).replace("{lock}", D::LOCK_ROW).into()
        };
        let chat = |rest: &str| compose(format!("SELECT {CHAT_COLUMNS} FROM chats c {rest}"));
        let turn = |rest: &str| compose(format!("{SELECT_TURN}{rest}"));
        Statements {
            chat_by_id: chat("WHERE c.id = $2"),
            chat_at_start: compose(format!(
                "SELECT {CHAT_COLUMNS}, (SELECT COUNT(*) FROM messages m WHERE m.chat_id = c.id) AS messages,
                     EXISTS (SELECT 1 FROM turns t WHERE t.chat_id = c.id AND t.state = 'running') AS any_running
                 FROM chats c WHERE c.id = $2"
            )),
            chats_page: chat(
                "WHERE c.owner = $2 AND c.archived = $3 AND ($4 IS NULL OR (c.updated_at, c.id) < ($4, $5))
                 ORDER BY c.updated_at DESC, c.id DESC LIMIT $6",
            ),
            turn_by_id: turn("WHERE t.id = $2"),
            turn_by_id_locked: turn("WHERE t.id = $2{lock}"),
            running_turn: turn("WHERE t.chat_id = $2 AND t.state = 'running'"),
            running_turn_locked: turn("WHERE t.chat_id = $2 AND t.state = 'running'{lock}"),
            stale_turns: compose("SELECT t.id FROM turns t WHERE t.state = 'running' AND NOT ({live})".into()),
            insert_turn: compose(
                "INSERT INTO turns (id, chat_id, message_id, instance, state, started_at, heartbeat_at)
                 VALUES ($1, $2, $3, $4, 'running', {now}, {now})"
                    .into(),
            ),
            end_turn: compose(
                "UPDATE turns SET state = $2, ended_at = {now} WHERE id = $1 AND state = 'running'".into(),
            ),
            interrupt_turn: compose(
                "UPDATE turns SET state = 'interrupted', ended_at = {now} WHERE id = $1 AND state = 'running'".into(),
            ),
            heartbeat: compose("UPDATE turns SET heartbeat_at = {now} WHERE id = $1 AND state = 'running'".into()),
            prune_parts: compose(
                "DELETE FROM turn_parts WHERE turn_id IN
                     (SELECT id FROM turns WHERE state <> 'running' AND ended_at < {now} - $1)"
                    .into(),
            ),
        }
    }
}

impl<D: Dialect> SqlStore<D> {
    /// A store over an open, migrated database: `read` its pool, `write` where writes take
    /// their connection (the same pool, or one of their own).
    pub(crate) fn new(
        dialect: D,
        read: Pool<D::Db>,
        write: WritePath<D::Db>,
        writer: Option<Writer>,
        lock: Option<std::fs::File>,
    ) -> Self {
        let (events, _) = broadcast::channel(1024);
        let inner = Inner {
            dialect,
            read,
            write,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            events,
            sql: Statements::new::<D>(),
        };
        SqlStore { inner: Arc::new(inner), writer, _lock: lock }
    }

    /// Runs a write with the store's state: on the [`Writer`]'s thread if there is one.
    async fn write<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner<D>>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let work = work(Arc::clone(&self.inner));
        match &self.writer {
            Some(writer) => writer.run(work).await,
            None => work.await,
        }
    }

    /// Runs a statement that changes one row; fails with `missing` when it changes none.
    async fn update_one(&self, statement: Sql<D::Db>, missing: StoreError) -> Result<(), StoreError> {
        self.write(move |db| async move {
            match statement.execute(&mut *db.writer().await?).await? {
                0 => Err(missing),
                _ => Ok(()),
            }
        })
        .await
    }

    /// [`SqlStore::write`] for a write that claims turn `turn_id`. The write runs to its end even
    /// if the caller stops waiting (a dropped request); a claim that nobody received is then
    /// released (the turn ended as interrupted), as the server releases a claim it does not use,
    /// so that the chat does not refuse its next turns.
    async fn claim<T, F, Fut>(&self, turn_id: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner<D>>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let turn_id = turn_id.to_owned();
        let (result_tx, result_rx) = tokio::sync::oneshot::channel();
        let write = work(Arc::clone(&inner));
        let task = async move {
            let result = write.await;
            let claimed = result.is_ok();
            if result_tx.send(result).is_err() && claimed {
                tracing::info!(turn = %turn_id, "releasing a turn claimed for a request that went away");
                if let Err(error) = inner.end_turn(&turn_id, crate::TurnState::Interrupted).await {
                    tracing::error!(%error, turn = %turn_id, "could not release an unused turn");
                }
            }
        };
        match &self.writer {
            Some(writer) => writer.spawn(task),
            None => {
                tokio::spawn(task);
            }
        }
        // A write that panicked dropped its sender.
        result_rx.await.map_err(|_| StoreError::Closed)?
    }
}

impl<D: Dialect> Inner<D> {
    /// A connection of the read pool.
    async fn reader(&self) -> Result<PoolConnection<D::Db>, StoreError> {
        Ok(self.read.acquire().await?)
    }

    /// A connection to write on, for one statement.
    async fn writer(&self) -> Result<WriteConn<D::Db>, StoreError> {
        self.write.conn().await
    }

    /// A write transaction.
    async fn begin(&self) -> Result<WriteTx<D::Db>, StoreError> {
        let (tx, _) = self.begin_with(self.script(), StoreError::from).await?;
        Ok(tx)
    }

    /// A write transaction with `script` run first in it (in the same call on SQLite; see
    /// [`WritePath::begin_with`]); a failed statement of the script is reported through `failed`.
    async fn begin_with(
        &self,
        script: Script<D::Db>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<(WriteTx<D::Db>, Vec<Ran<D::Db>>), StoreError> {
        let started = std::time::Instant::now();
        let begun = self.write.begin_with(D::BEGIN, script, failed).await?;
        // How long writes queue for a write connection (RUST_LOG=aomi_store=trace).
        tracing::trace!(wait_us = started.elapsed().as_micros() as u64, "write transaction begun");
        Ok(begun)
    }

    /// Runs `script` as one write transaction: BEGIN, the script and COMMIT in one call on
    /// SQLite (see [`WritePath::transact`]); a failed statement is reported through `failed`.
    async fn transact(
        &self,
        script: Script<D::Db>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<Vec<Ran<D::Db>>, StoreError> {
        self.write.transact(D::BEGIN, script, failed).await
    }

    /// A composed statement whose `$1` is the liveness argument, bound.
    fn live(&self, statement: &Arc<str>) -> Sql<D::Db> {
        self.dialect.bind_liveness(stmt(statement), &self.instance)
    }

    /// An empty script (see [`crate::script`]).
    fn script(&self) -> Script<D::Db> {
        Script::new(D::JOINS_SCRIPTS)
    }

    /// Adds a composed statement whose `$1` is the liveness argument to `script`, that argument
    /// bound.
    fn push_live<'s>(&self, script: &'s mut Script<D::Db>, statement: &Arc<str>) -> &'s mut Script<D::Db> {
        self.dialect.bind_liveness(script.push(statement), &self.instance)
    }

    /// Adds the statement that wakes the turn's followers on other instances to `script`, for the
    /// writing transaction (none where no other process reads the database).
    fn notify(script: &mut Script<D::Db>, turn_id: &str) {
        if let Some(notify) = D::NOTIFY {
            script.push(notify).bind(turn_id);
        }
    }

    /// Wakes the turn's followers in this process, once the write committed (where no NOTIFY
    /// does it).
    fn notify_committed(&self, turn_id: &str) {
        if D::NOTIFY.is_none() {
            let _ = self.events.send(turn_id.into());
        }
    }
}

/// A composed statement.
fn stmt<D: crate::engine::Engine>(statement: &Arc<str>) -> Sql<D> {
    Sql::new(AssertSqlSafe(Arc::clone(statement)))
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D> {
    fn kind(&self) -> StoreKind {
        D::KIND
    }

    fn describe(&self) -> String {
        self.inner.dialect.describe()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.inner.reader().await?;
        Sql::<D::Db>::new("SELECT 1").fetch_optional(&mut conn).await?;
        Ok(())
    }
}
