//! Fresh databases for tests (feature `testing`, for dev-dependencies only).
//!
//! [`TestPostgres::create`] makes a new schema in the test database and a URL whose connections
//! use it, so every test migrates from scratch and sees only its own rows; the schema is dropped
//! when the value is dropped (and schemas left by killed test runs are dropped after an hour).
//!
//! Which database: `AOMI_TEST_DATABASE_URL` when set, otherwise `postgres://postgres@127.0.0.1:5432/test`
//! and then `postgres://root@127.0.0.1:5432/test` (trust authentication). When no connection can
//! be made the tests that need PostgreSQL print that they were skipped and pass, unless
//! `AOMI_REQUIRE_POSTGRES=1`, which makes them fail (set it where PostgreSQL must be tested).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// The databases tried, in order, when `AOMI_TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASES: [&str; 2] =
    ["postgres://postgres@127.0.0.1:5432/test", "postgres://root@127.0.0.1:5432/test"];

/// Schemas of this prefix belong to tests.
const PREFIX: &str = "aomi_test_";

/// Test schemas older than this are leftovers of killed runs.
const STALE_AFTER_SECS: u64 = 3600;

/// A fresh schema in the PostgreSQL test database.
#[derive(Debug)]
pub struct TestPostgres {
    admin_url: String,
    schema: String,
    url: String,
}

impl TestPostgres {
    /// A new, empty schema; `None` when PostgreSQL cannot be reached (said once on stderr). Panics
    /// on any other failure, and when unreachable with `AOMI_REQUIRE_POSTGRES=1`.
    pub async fn create() -> Option<Self> {
        let admin_url = match reachable().await {
            Ok(url) => url.clone(),
            Err(why) => {
                if std::env::var("AOMI_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("PostgreSQL is required (AOMI_REQUIRE_POSTGRES=1) but unreachable: {why}");
                }
                return None;
            }
        };
        let pool = match PgPoolOptions::new().max_connections(1).connect(&admin_url).await {
            Ok(pool) => pool,
            Err(error) => panic!("PostgreSQL answered a moment ago but now fails: {error}"),
        };
        Some(Self::create_in(pool, admin_url).await)
    }

    async fn create_in(pool: PgPool, admin_url: String) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        drop_stale_schemas(&pool, now).await;
        let schema = format!("{PREFIX}{now}_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE SCHEMA {schema}");
        if let Err(error) = sqlx::query(AssertSqlSafe(create)).execute(&pool).await {
            panic!("cannot create the test schema {schema}: {error}");
        }
        pool.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        TestPostgres { admin_url, schema, url }
    }

    /// The URL of the schema: give it to [`crate::connect`] or to `AOMI_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The first test database that accepts a connection (tried once per test binary), or why none did.
async fn reachable() -> &'static Result<String, String> {
    static REACHABLE: OnceCell<Result<String, String>> = OnceCell::const_new();
    REACHABLE
        .get_or_init(|| async {
            let candidates: Vec<String> = match std::env::var("AOMI_TEST_DATABASE_URL") {
                Ok(url) if !url.is_empty() => vec![url],
                _ => DEFAULT_TEST_DATABASES.iter().map(|url| (*url).to_owned()).collect(),
            };
            let mut failures = Vec::new();
            for url in candidates {
                // One attempt, no pool: an unreachable server fails at once instead of after retries.
                match PgConnection::connect(&url).await {
                    Ok(connection) => {
                        let _ = connection.close().await;
                        return Ok(url);
                    }
                    Err(error) => failures.push(format!("{url}: {error}")),
                }
            }
            let why = failures.join("; ");
            // Straight to stderr, past the test harness's capture, once per test binary.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: the PostgreSQL tests of this binary pass without running: PostgreSQL is unreachable ({why})"
            );
            Err(why)
        })
        .await
}

async fn drop_stale_schemas(pool: &PgPool, now: u64) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(PREFIX)
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    for name in names {
        let created = name.strip_prefix(PREFIX).and_then(|rest| rest.split('_').next()).and_then(|t| t.parse().ok());
        if created.is_some_and(|created: u64| now.saturating_sub(created) > STALE_AFTER_SECS) {
            let _ = sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).execute(pool).await;
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let schema = self.schema.clone();
        // Drop may run inside a runtime (or while unwinding): use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let pool = PgPoolOptions::new().max_connections(1).connect(&admin_url).await.ok()?;
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&pool).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// A directory under the system's temporary directory, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates an empty directory. Panics if it cannot.
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("aomi-test-{}", uuid::Uuid::new_v4().simple()));
        if let Err(error) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {error}", path.display());
        }
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
