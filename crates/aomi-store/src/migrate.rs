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
];

pub(crate) const POSTGRES: &[Embedded] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "contract_implementation", include_str!("../migrations/postgres/0002_contract_implementation.sql")),
    (3, "sign_in", include_str!("../migrations/postgres/0003_sign_in.sql")),
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
}
