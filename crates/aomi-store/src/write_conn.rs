//! Where the store's writes take their connection, and a write transaction over it.
//!
//! A pool hands out a connection and takes it back; sqlx pings every connection it takes back,
//! which on SQLite is a hop to the connection's thread and back once per write. The SQLite
//! file's one write connection is used by one writer at a time anyway, so the store holds it for
//! its life instead ([`WritePath::Held`]); PostgreSQL's writers run side by side on the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, SqlSafeStr};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

/// Where writes take their connection.
pub(crate) enum WritePath<DB: Database> {
    /// A pool: each write takes a connection and gives it back.
    Pool(Pool<DB>),
    /// One connection held for the store's life; a write waits its turn for it, at most
    /// `timeout` (as long as a pool's acquire waits).
    Held {
        /// The connection.
        conn: Arc<Mutex<DB::Connection>>,
        /// How long a write waits for it.
        timeout: Duration,
    },
}

impl<DB: Database> std::fmt::Debug for WritePath<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WritePath::Pool(pool) => f.debug_tuple("Pool").field(pool).finish(),
            WritePath::Held { timeout, .. } => f.debug_struct("Held").field("timeout", timeout).finish_non_exhaustive(),
        }
    }
}

impl<DB: Database> WritePath<DB> {
    /// One connection, held.
    pub(crate) fn held(conn: DB::Connection, timeout: Duration) -> Self {
        WritePath::Held { conn: Arc::new(Mutex::new(conn)), timeout }
    }

    /// A connection to write on, for one statement or one transaction. Times out as a pool's
    /// acquire does ([`sqlx::Error::PoolTimedOut`]).
    pub(crate) async fn conn(&self) -> Result<WriteConn<DB>, StoreError> {
        match self {
            WritePath::Pool(pool) => Ok(WriteConn::Pooled(pool.acquire().await?)),
            WritePath::Held { conn, timeout } => tokio::time::timeout(*timeout, Arc::clone(conn).lock_owned())
                .await
                .map(WriteConn::Held)
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }

    /// A transaction begun with `statement` on a connection of [`WritePath::conn`].
    pub(crate) async fn begin(&self, statement: &'static str) -> Result<WriteTx<DB>, StoreError> {
        let mut conn = self.conn().await?;
        DB::TransactionManager::begin(&mut conn, Some(statement.into_sql_str())).await?;
        Ok(WriteTx { conn, open: true })
    }
}

/// A connection to write on: a pool's, given back when dropped, or the held one, free for the
/// next write when dropped.
pub(crate) enum WriteConn<DB: Database> {
    /// Taken from the pool.
    Pooled(PoolConnection<DB>),
    /// The held connection.
    Held(OwnedMutexGuard<DB::Connection>),
}

impl<DB: Database> Deref for WriteConn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Held(conn) => conn,
        }
    }
}

impl<DB: Database> DerefMut for WriteConn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Held(conn) => conn,
        }
    }
}

/// A write transaction: rolled back when dropped uncommitted, as sqlx's own `Transaction` is (the
/// rollback is queued on the connection and runs before its next statement).
pub(crate) struct WriteTx<DB: Database> {
    conn: WriteConn<DB>,
    open: bool,
}

impl<DB: Database> WriteTx<DB> {
    /// Commits it.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        DB::TransactionManager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl<DB: Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: Database> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        if self.open {
            DB::TransactionManager::start_rollback(&mut self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Sqlite};

    use super::*;

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
            let mut tx = path.begin("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await.unwrap();
        }
        let mut tx = path.begin("BEGIN IMMEDIATE").await.unwrap();
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
}
