//! Database URLs and the data directory.

use std::path::PathBuf;

use std::time::Duration;

use aomi_store::testing::{TempDir, TestPostgres};
use aomi_store::{Location, StoreConfig, StoreError, StoreKind};
use sqlx::Connection;

#[test]
fn database_urls_are_read() {
    let cases = [
        ("sqlite://data/aomi.db", Location::SqliteFile(PathBuf::from("data/aomi.db"))),
        ("sqlite:///var/lib/aomi/aomi.db?mode=rwc", Location::SqliteFile(PathBuf::from("/var/lib/aomi/aomi.db"))),
        ("sqlite:aomi.db", Location::SqliteFile(PathBuf::from("aomi.db"))),
        ("sqlite::memory:", Location::SqliteMemory),
        ("postgres://u:p@db:5432/aomi", Location::Postgres("postgres://u:p@db:5432/aomi".into())),
        ("postgresql://db/aomi", Location::Postgres("postgresql://db/aomi".into())),
    ];
    for (url, location) in cases {
        assert_eq!(Location::from_url(url).unwrap(), location, "{url}");
    }
    for url in ["mysql://db/aomi", "aomi.db", "", "sqlite://"] {
        let error = Location::from_url(url).unwrap_err();
        assert!(matches!(error, StoreError::UnsupportedUrl(_)), "{url}");
        assert!(error.to_string().contains("postgres://"));
    }
}

#[tokio::test]
async fn sqlite_creates_its_directory_and_file_on_first_run() {
    let dir = TempDir::new();
    let data_dir = dir.path().join("nested").join(".aomi");
    let store = aomi_store::connect_with(&StoreConfig::in_data_dir(&data_dir)).await.unwrap();
    assert_eq!(store.kind(), StoreKind::Sqlite);
    assert!(store.describe().contains("aomi.db"));
    store.ping().await.unwrap();
    store.ensure_chat(crate::new_chat("c1", None)).await.unwrap();
    assert!(data_dir.join("aomi.db").exists());
    assert!(data_dir.join("aomi.db-wal").exists(), "WAL mode");
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error() {
    // Port 9 (discard) is closed on test machines.
    let mut config = StoreConfig::from_url("postgres://aomi@127.0.0.1:9/aomi").unwrap();
    config.acquire_timeout = std::time::Duration::from_millis(500);
    let error = aomi_store::connect_with(&config).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, StoreError::Connect { .. }), "{error:?}");
    assert!(text.contains("127.0.0.1:9/aomi"), "{text}");
}

#[tokio::test]
async fn a_memory_store_works_for_tests_and_benchmarks() {
    let store = aomi_store::connect("sqlite::memory:").await.unwrap();
    store.ensure_chat(crate::new_chat("c1", None)).await.unwrap();
    assert!(store.chat("c1").await.unwrap().is_some());
    assert_eq!(store.describe(), "SQLite in memory");
}

/// Ends every connection of the application `name` on the server, and waits until they are gone.
async fn drop_connections(url: &str, name: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    let dropped: i64 = sqlx::query_scalar(
        // Materialized: the planner may not test the name after the termination.
        "WITH chosen AS MATERIALIZED
             (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid())
         SELECT COUNT(*) FROM chosen WHERE pg_terminate_backend(pid, 5000)",
    )
    .bind(name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    dropped
}

/// sqlx pings a pooled connection before every use unless told otherwise: a round trip the store
/// saves on a connection used within `ping_after_idle`. One idle longer is still checked, and
/// replaced when the database dropped it; one used more recently is not, and fails once.
#[tokio::test]
async fn postgres_replaces_a_connection_it_dropped_while_idle() {
    let Some(pg) = TestPostgres::create().await else { return };
    for (ping_after_idle, checked) in [(Duration::ZERO, true), (Duration::from_secs(3600), false)] {
        let name = format!("aomi_idle_test_{}", uuid::Uuid::new_v4().simple());
        let mut config = StoreConfig::from_url(&format!("{}&application_name={name}", pg.url())).unwrap();
        config.max_connections = 1;
        config.ping_after_idle = ping_after_idle;
        let store = aomi_store::connect_with(&config).await.unwrap();
        store.ensure_chat(crate::new_chat("c1", None)).await.unwrap();

        // The server ends the pool's one connection while it is idle (a restart, a proxy's timeout).
        assert_eq!(drop_connections(pg.url(), &name).await, 1, "ping_after_idle {ping_after_idle:?}");
        let read = store.chat("c1").await;
        assert_eq!(read.is_ok(), checked, "ping_after_idle {ping_after_idle:?}: {read:?}");
        // A connection that failed is not returned to the pool: the next call gets a new one.
        assert!(store.chat("c1").await.unwrap().is_some(), "ping_after_idle {ping_after_idle:?}");
    }
}
