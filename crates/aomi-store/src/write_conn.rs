//! Where the store's writes take their connection, and a write transaction over it.
//!
//! A pool hands out a connection and takes it back; sqlx pings every connection it takes back,
//! which on SQLite is a hop to the connection's thread and back once per write. The SQLite
//! file's one write connection is used by one writer at a time anyway, so the store holds it for
//! its life instead ([`WritePath::Held`]); PostgreSQL's writers run side by side on the pool.
//!
//! On the held connection the store begins and ends its transactions itself rather than through
//! sqlx's transaction manager, whose `BEGIN` and `COMMIT` are each a call of their own: its
//! `BEGIN` and `COMMIT` go in the same call as the transaction's first and last
//! [`Script`] ([`WritePath::begin_with`], [`WriteTx::commit_with`]).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::pool::{Pool, PoolConnection};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;
use crate::engine::Engine;
use crate::script::{Failure, Ran, Script, ScriptError};

/// Where writes take their connection.
pub(crate) enum WritePath<DB: Engine> {
    /// A pool: each write takes a connection and gives it back.
    Pool(Pool<DB>),
    /// One connection held for the store's life; a write waits its turn for it, at most
    /// `timeout` (as long as a pool's acquire waits).
    Held {
        /// The connection.
        conn: Arc<Mutex<Held<DB>>>,
        /// How long a write waits for it.
        timeout: Duration,
    },
}

/// The held connection.
pub(crate) struct Held<DB: Engine> {
    conn: DB::Connection,
    /// A transaction was dropped uncommitted: it is rolled back before the next write.
    left_open: bool,
}

impl<DB: Engine> Held<DB> {
    /// Runs `script` on the connection, after `begin` when it begins a transaction and before
    /// `COMMIT` when `commit`: the transaction is marked left open from its BEGIN until a COMMIT
    /// that succeeded.
    async fn run(&mut self, script: Script<DB>, begin: Option<&str>, commit: bool) -> Result<Vec<Ran<DB>>, Failure> {
        if begin.is_some() {
            self.left_open = true;
        }
        let ran = script.run_between(&mut self.conn, begin, commit.then_some("COMMIT")).await?;
        if commit {
            self.left_open = false;
        }
        Ok(ran)
    }
}

impl<DB: Engine> std::fmt::Debug for WritePath<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WritePath::Pool(pool) => f.debug_tuple("Pool").field(pool).finish(),
            WritePath::Held { timeout, .. } => f.debug_struct("Held").field("timeout", timeout).finish_non_exhaustive(),
        }
    }
}

impl<DB: Engine> WritePath<DB> {
    /// One connection, held.
    pub(crate) fn held(conn: DB::Connection, timeout: Duration) -> Self {
        WritePath::Held { conn: Arc::new(Mutex::new(Held { conn, left_open: false })), timeout }
    }

    /// A connection to write on, for one statement or one transaction. Times out as a pool's
    /// acquire does ([`sqlx::Error::PoolTimedOut`]).
    pub(crate) async fn conn(&self) -> Result<WriteConn<DB>, StoreError> {
        match self {
            WritePath::Pool(pool) => Ok(WriteConn::Pooled(pool.acquire().await?)),
            WritePath::Held { conn, timeout } => {
                let mut held = tokio::time::timeout(*timeout, Arc::clone(conn).lock_owned())
                    .await
                    .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?;
                if held.left_open {
                    let mut rollback = Script::<DB>::new(true);
                    rollback.push("ROLLBACK");
                    // Fails only where there is nothing to roll back: a failed `BEGIN`, or a
                    // `COMMIT` whose failure already ended the transaction.
                    if let Err(error) = rollback.run(&mut held.conn).await {
                        tracing::debug!(error = %error.error, "nothing to roll back");
                    }
                    held.left_open = false;
                }
                Ok(WriteConn::Held(held))
            }
        }
    }

    /// A transaction begun with `statement` on a connection of [`WritePath::conn`], and `script`
    /// run first in it: one call on the held connection when the script is joined. A statement
    /// of the script that fails is reported through `failed`, and the transaction is rolled back.
    pub(crate) async fn begin_with(
        &self,
        statement: &'static str,
        script: Script<DB>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<(WriteTx<DB>, Vec<Ran<DB>>), StoreError> {
        WriteTx::begin_on(self.conn().await?, statement, script, failed).await
    }

    /// Runs `script` as one transaction begun with `statement`: one call on the held connection
    /// when the script is joined. A statement of the script that fails is reported through
    /// `failed`, and nothing is committed.
    pub(crate) async fn transact(
        &self,
        statement: &'static str,
        script: Script<DB>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<Vec<Ran<DB>>, StoreError> {
        match self.conn().await? {
            WriteConn::Held(mut held) => {
                held.run(script, Some(statement), true).await.map_err(|failure| fail(failure, failed))
            }
            pooled => {
                let (tx, _) = WriteTx::begin_on(pooled, statement, Script::new(false), StoreError::from).await?;
                tx.commit_with(script, failed).await
            }
        }
    }
}

/// A failure of a script run between a transaction's statements, as the store reports it.
fn fail(failure: Failure, failed: impl FnOnce(ScriptError) -> StoreError) -> StoreError {
    match failure {
        Failure::Statement(error) => failed(error),
        Failure::Around(error) => error.into(),
    }
}

/// A connection to write on: a pool's, given back when dropped, or the held one, free for the
/// next write when dropped.
pub(crate) enum WriteConn<DB: Engine> {
    /// Taken from the pool.
    Pooled(PoolConnection<DB>),
    /// The held connection.
    Held(OwnedMutexGuard<Held<DB>>),
}

impl<DB: Engine> Deref for WriteConn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Held(held) => &held.conn,
        }
    }
}

impl<DB: Engine> DerefMut for WriteConn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Held(held) => &mut held.conn,
        }
    }
}

/// A write transaction: rolled back when dropped uncommitted, as sqlx's own `Transaction` is (the
/// rollback is queued on the connection and runs before its next statement).
pub(crate) struct WriteTx<DB: Engine> {
    conn: WriteConn<DB>,
    open: bool,
}

impl<DB: Engine> WriteTx<DB> {
    /// [`WritePath::begin_with`] on `conn`.
    async fn begin_on(
        mut conn: WriteConn<DB>,
        statement: &'static str,
        script: Script<DB>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<(WriteTx<DB>, Vec<Ran<DB>>), StoreError> {
        let ran = match &mut conn {
            WriteConn::Pooled(pooled) => {
                DB::TransactionManager::begin(pooled, Some(statement.into_sql_str())).await?;
                script.run(pooled).await.map_err(Failure::Statement)
            }
            // A failed script leaves SQLite's transaction open: marked so.
            WriteConn::Held(held) => held.run(script, Some(statement), false).await,
        };
        // Rolled back if the script failed.
        let tx = WriteTx { conn, open: true };
        Ok((tx, ran.map_err(|failure| fail(failure, failed))?))
    }

    /// Commits it.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.commit_with(Script::new(false), StoreError::from).await.map(drop)
    }

    /// Runs `script` last in it, then commits it: one call on the held connection when the
    /// script is joined. A statement of the script that fails is reported through `failed`, and
    /// nothing is committed.
    pub(crate) async fn commit_with(
        mut self,
        script: Script<DB>,
        failed: impl FnOnce(ScriptError) -> StoreError,
    ) -> Result<Vec<Ran<DB>>, StoreError> {
        let ran = match &mut self.conn {
            WriteConn::Pooled(pooled) => {
                let ran = script.run(pooled).await.map_err(failed)?;
                DB::TransactionManager::commit(pooled).await?;
                ran
            }
            WriteConn::Held(held) => held.run(script, None, true).await.map_err(|failure| fail(failure, failed))?,
        };
        self.open = false;
        Ok(ran)
    }
}

impl<DB: Engine> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Engine> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: Engine> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        // The held connection was marked left open when the transaction began.
        if self.open
            && let WriteConn::Pooled(pooled) = &mut self.conn
        {
            DB::TransactionManager::start_rollback(pooled);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use sqlx::{ConnectOptions, Sqlite};

    use super::*;
    use crate::testing::TempDir;

    /// The held connection: a write waits for it at most its timeout, and a transaction dropped
    /// uncommitted is rolled back before the next write.
    #[tokio::test]
    async fn the_held_connection_times_out_and_rolls_back_as_a_pool_does() {
        let conn = SqliteConnectOptions::new().in_memory(true).connect().await.unwrap();
        let path = WritePath::<Sqlite>::held(conn, Duration::from_millis(50));
        let first = path.conn().await.unwrap();
        let second = path.conn().await;
        assert!(matches!(second, Err(StoreError::Database(sqlx::Error::PoolTimedOut))), "a second writer got it");
        drop(first);

        {
            let (mut tx, _) = path.begin_with("BEGIN IMMEDIATE", Script::new(true), StoreError::from).await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await.unwrap();
        }
        let (mut tx, _) = path.begin_with("BEGIN IMMEDIATE", Script::new(true), StoreError::from).await.unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(tables, 0, "the dropped transaction was not rolled back");
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'")
            .fetch_one(&mut *path.conn().await.unwrap())
            .await
            .unwrap();
        assert_eq!(tables, 1, "the committed transaction was lost");
    }

    /// A script of inserts into `t`, joined or not: `keys`, each with the value 1.
    fn inserts(joined: bool, keys: &[&str]) -> Script<Sqlite> {
        let mut script = Script::new(joined);
        for key in keys {
            script.push("INSERT INTO t (k, v) VALUES ($1, 1)").bind(*key);
        }
        script
    }

    /// What a failed statement is reported as: its index.
    fn at(error: ScriptError) -> StoreError {
        StoreError::DuplicateMessage(format!("at {}", error.at))
    }

    /// On the held connection (its BEGIN and COMMIT sent with the scripts) and on a pool (sqlx's
    /// transactions), with scripts joined or not: a transaction commits whole or not at all,
    /// a failed statement is reported by its index in its script, and the connection is left
    /// out of any transaction for the next write. What is committed is read on a connection of
    /// its own.
    #[tokio::test]
    async fn transactions_begin_and_commit_with_their_scripts_whole_or_not_at_all() {
        for (held, joined) in [(true, true), (true, false), (false, true), (false, false)] {
            let case = format!("held: {held}, joined: {joined}");
            let dir = TempDir::new();
            let options = SqliteConnectOptions::new().filename(dir.path().join("t.db")).create_if_missing(true);
            let path = if held {
                WritePath::<Sqlite>::held(options.connect().await.unwrap(), Duration::from_secs(5))
            } else {
                WritePath::Pool(
                    SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap(),
                )
            };
            sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
                .execute(&mut *path.conn().await.unwrap())
                .await
                .unwrap();
            let mut reader = options.connect().await.unwrap();
            let mut committed = async || -> Vec<String> {
                sqlx::query_scalar("SELECT k FROM t ORDER BY k").fetch_all(&mut reader).await.unwrap()
            };

            // Begun with a script, a statement alone, committed with a script.
            let (mut tx, ran) = path.begin_with("BEGIN IMMEDIATE", inserts(joined, &["a", "b"]), at).await.unwrap();
            assert_eq!(ran.iter().map(|ran| ran.changed).collect::<Vec<_>>(), [1, 1], "{case}");
            sqlx::query("INSERT INTO t (k, v) VALUES ('c', 1)").execute(&mut *tx).await.unwrap();
            assert!(committed().await.is_empty(), "{case}: seen before the commit");
            let ran = tx.commit_with(inserts(joined, &["d"]), at).await.unwrap();
            assert_eq!(ran.len(), 1, "{case}: the COMMIT's result was reported as the script's");
            assert_eq!(committed().await, ["a", "b", "c", "d"], "{case}");

            // The commit's script fails at its second statement: nothing of the transaction stays.
            let (tx, _) = path.begin_with("BEGIN IMMEDIATE", inserts(joined, &["e"]), at).await.unwrap();
            let error = tx.commit_with(inserts(joined, &["f", "a", "g"]), at).await.err().unwrap();
            assert!(error.to_string().contains("at 1"), "{case}: {error}");
            // The first script fails: the statement before it is undone too.
            let error = path.begin_with("BEGIN IMMEDIATE", inserts(joined, &["h", "b"]), at).await.err().unwrap();
            assert!(error.to_string().contains("at 1"), "{case}: {error}");
            assert_eq!(committed().await, ["a", "b", "c", "d"], "{case}: a failed transaction left rows");

            // In one call: all of it or none of it, and the next transaction begins as usual.
            let error = path.transact("BEGIN IMMEDIATE", inserts(joined, &["i", "j", "c"]), at).await.err().unwrap();
            assert!(error.to_string().contains("at 2"), "{case}: {error}");
            let ran = path.transact("BEGIN IMMEDIATE", inserts(joined, &["k"]), at).await.unwrap();
            assert_eq!(ran.len(), 1, "{case}");
            assert_eq!(committed().await, ["a", "b", "c", "d", "k"], "{case}");
            let (tx, _) = path.begin_with("BEGIN IMMEDIATE", inserts(joined, &["l"]), at).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(committed().await, ["a", "b", "c", "d", "k", "l"], "{case}");
        }
    }
}
