//! The migrations, embedded in the binary and run at start (sqlx's migrator records what ran in
//! `_sqlx_migrations`; on PostgreSQL it holds an advisory lock, so instances starting together
//! migrate once).
//!
//! To change the schema, add `migrations/{sqlite,postgres}/NNNN_name.sql` (both, equivalent) and
//! list them here; a test checks that this list and the directories agree.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// A migration: version, description, SQL.
type Embedded = (i64, &'static str, &'static str);

pub(crate) const SQLITE: &[Embedded] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "contract_implementation", include_str!("../migrations/sqlite/0002_contract_implementation.sql")),
    (3, "sign_in", include_str!("../migrations/sqlite/0003_sign_in.sql")),
    (4, "transaction_held", include_str!("../migrations/sqlite/0004_transaction_held.sql")),
    (5, "facts", include_str!("../migrations/sqlite/0005_facts.sql")),
    (6, "batch_steps", include_str!("../migrations/sqlite/0006_batch_steps.sql")),
    (7, "branches", include_str!("../migrations/sqlite/0007_branches.sql")),
    (8, "transaction_signed", include_str!("../migrations/sqlite/0008_transaction_signed.sql")),
    (9, "guards", include_str!("../migrations/sqlite/0009_guards.sql")),
    (10, "telegram", include_str!("../migrations/sqlite/0010_telegram.sql")),
    (11, "chat_model", include_str!("../migrations/sqlite/0011_chat_model.sql")),
    (12, "compactions", include_str!("../migrations/sqlite/0012_compactions.sql")),
];

pub(crate) const POSTGRES: &[Embedded] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "contract_implementation", include_str!("../migrations/postgres/0002_contract_implementation.sql")),
    (3, "sign_in", include_str!("../migrations/postgres/0003_sign_in.sql")),
    (4, "transaction_held", include_str!("../migrations/postgres/0004_transaction_held.sql")),
    (5, "facts", include_str!("../migrations/postgres/0005_facts.sql")),
    (6, "batch_steps", include_str!("../migrations/postgres/0006_batch_steps.sql")),
    (7, "branches", include_str!("../migrations/postgres/0007_branches.sql")),
    (8, "transaction_signed", include_str!("../migrations/postgres/0008_transaction_signed.sql")),
    (9, "guards", include_str!("../migrations/postgres/0009_guards.sql")),
    (10, "telegram", include_str!("../migrations/postgres/0010_telegram.sql")),
    (11, "chat_model", include_str!("../migrations/postgres/0011_chat_model.sql")),
    (12, "compactions", include_str!("../migrations/postgres/0012_compactions.sql")),
];

pub(crate) fn migrator(migrations: &[Embedded]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        let mut names: Vec<String> =
            std::fs::read_dir(path).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn listed(migrations: &[Embedded]) -> Vec<String> {
        migrations.iter().map(|(version, description, _)| format!("{version:04}_{description}.sql")).collect()
    }

    #[test]
    fn every_migration_file_is_embedded_for_both_databases() {
        assert_eq!(listed(SQLITE), files("sqlite"));
        assert_eq!(listed(POSTGRES), files("postgres"));
        assert_eq!(files("sqlite"), files("postgres"), "the two schemas move together");
    }

    /// SQLite's 0004 rebuilds the transactions table: what was recorded before stays.
    #[tokio::test]
    async fn the_rebuilt_transactions_table_keeps_its_rows() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        migrator(&SQLITE[..2]).run(&pool).await.unwrap();
        sqlx::query("INSERT INTO chats (id, app, created_at, updated_at) VALUES ('c1', 'default', 1, 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO transactions (id, chat_id, chain_id, request, status, detail, created_at, updated_at)
             VALUES ('t1', 'c1', 1, '{}', 'sent', '0xab', 1, 2)",
        )
        .execute(&pool)
        .await
        .unwrap();
        migrator(SQLITE).run(&pool).await.unwrap();
        let row: (String, String, String) =
            sqlx::query_as("SELECT chat_id, status, detail FROM transactions WHERE id = 't1'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(row, ("c1".into(), "sent".into(), "0xab".into()));
        sqlx::query("UPDATE transactions SET status = 'held' WHERE id = 't1'").execute(&pool).await.unwrap();
        let bad = sqlx::query("UPDATE transactions SET status = 'lost' WHERE id = 't1'").execute(&pool).await;
        assert!(bad.is_err(), "the CHECK constraint is still there");
    }
}
