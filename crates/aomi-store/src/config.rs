//! Which database to open, and how.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::{PgStore, SqliteStore, Store, StoreError};

/// The file name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "aomi.db";

/// Connections per pool unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long a query waits for a free connection unless configured otherwise.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a running turn stays alive without a heartbeat on PostgreSQL, unless configured
/// otherwise (see [`crate::turn`]).
pub const DEFAULT_TURN_LEASE: Duration = Duration::from_secs(30);

/// How long a pooled connection may sit idle before it is checked with a ping when taken again,
/// unless configured otherwise (see [`StoreConfig::ping_after_idle`]).
pub const DEFAULT_PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file, created with its directory on first use.
    SqliteFile(PathBuf),
    /// A SQLite database in memory, gone with the process (tests, benchmarks).
    SqliteMemory,
    /// A PostgreSQL URL, `postgres://user:password@host:port/database?…`.
    Postgres(String),
}

impl Location {
    /// Reads a URL: `sqlite://<path>` or `sqlite:<path>`, `sqlite::memory:`, `postgres://…` or
    /// `postgresql://…`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        match url.strip_prefix("sqlite:") {
            Some(":memory:") => Ok(Location::SqliteMemory),
            Some(rest) => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err(StoreError::UnsupportedUrl(url.to_owned()));
                }
                Ok(Location::SqliteFile(PathBuf::from(path)))
            }
            None => Err(StoreError::UnsupportedUrl(url.to_owned())),
        }
    }
}

/// How to open the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The database.
    pub location: Location,
    /// The most connections the pool opens (`AOMI_DB_MAX_CONNECTIONS`). SQLite writes go through
    /// one connection whatever this says.
    pub max_connections: u32,
    /// How long a query waits for a free connection before it fails (`AOMI_DB_ACQUIRE_TIMEOUT_SECS`).
    pub acquire_timeout: Duration,
    /// How long a turn on another instance counts as alive without a heartbeat (PostgreSQL).
    pub turn_lease: Duration,
    /// A pooled connection idle at least this long is pinged before it is used, and replaced if
    /// the ping fails (a database restarted, a proxy that dropped it); one used more recently is
    /// taken as it is. sqlx's default pings on every acquire: a network round trip on
    /// PostgreSQL, and on SQLite a hop to the connection's thread and back, per statement or
    /// transaction of every turn, to guard against a peer that a local file does not have.
    pub ping_after_idle: Duration,
}

impl StoreConfig {
    /// The defaults for this location.
    pub fn new(location: Location) -> Self {
        StoreConfig {
            location,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            turn_lease: DEFAULT_TURN_LEASE,
            ping_after_idle: DEFAULT_PING_AFTER_IDLE,
        }
    }

    /// The defaults for a database URL (see [`Location::from_url`]).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        Ok(Self::new(Location::from_url(url)?))
    }

    /// The options every pool of the store starts from: the acquire timeout, and the ping of a
    /// connection only after [`StoreConfig::ping_after_idle`].
    pub(crate) fn pool_options<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        let ping_after_idle = self.ping_after_idle;
        sqlx::pool::PoolOptions::new().acquire_timeout(self.acquire_timeout).test_before_acquire(false).before_acquire(
            move |conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= ping_after_idle {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            },
        )
    }

    /// The SQLite file [`DATABASE_FILE`] in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(Location::SqliteFile(data_dir.join(DATABASE_FILE)))
    }
}

/// Opens the database of `url` with default settings and migrates it.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(&StoreConfig::from_url(url)?).await
}

/// Opens the configured database and migrates it.
pub async fn connect_with(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &config.location {
        Location::SqliteFile(path) => Arc::new(SqliteStore::open(path, config).await?),
        Location::SqliteMemory => Arc::new(SqliteStore::memory().await?),
        Location::Postgres(url) => Arc::new(PgStore::open(url, config).await?),
    })
}
