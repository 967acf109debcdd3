//! The store's tests. Each test in `both!` runs against SQLite (a fresh file) and PostgreSQL (a
//! fresh schema; skipped with a message when PostgreSQL is unreachable, see
//! `aomi_store::testing`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod auth;
mod batches;
mod branches;
mod chats;
mod compactions;
mod config;
mod contention;
mod contracts;
mod facts;
mod guards;
mod search;
mod telegram;
mod transactions;
mod turns;

use std::sync::Arc;

use aomi_store::testing::{TempDir, TestPostgres};
use aomi_store::{Store, StoreConfig};

/// A store on a fresh database, with what keeps that database alive.
pub struct Db {
    pub store: Arc<dyn Store>,
    pub dir: Option<TempDir>,
    pub pg: Option<TestPostgres>,
}

impl Db {
    pub async fn sqlite() -> Db {
        let dir = TempDir::new();
        let store = aomi_store::connect_with(&StoreConfig::in_data_dir(dir.path())).await.unwrap();
        Db { store, dir: Some(dir), pg: None }
    }

    pub async fn postgres() -> Option<Db> {
        let pg = TestPostgres::create().await?;
        let store = aomi_store::connect(pg.url()).await.unwrap();
        Some(Db { store, dir: None, pg: Some(pg) })
    }
}

/// Runs each named `async fn(Arc<dyn Store>)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    let db = $crate::Db::sqlite().await;
                    super::$name(db.store.clone()).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    let Some(db) = $crate::Db::postgres().await else { return };
                    super::$name(db.store.clone()).await;
                }
            }
        )*
    };
}

pub const ALICE: &str = "0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa";
pub const BOB: &str = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A valid address (the store takes only those; parsing is where text is checked).
pub fn addr(text: &str) -> aomi_core::Address {
    aomi_core::Address::parse(text).unwrap()
}

/// What the store said of a text that is not an address, had it been given one: the error its
/// caller gets from parsing it, in the store's terms.
pub fn address_error(text: &str) -> aomi_store::StoreError {
    aomi_core::Address::parse(text).unwrap_err().into()
}

pub fn new_chat(id: &str, owner: Option<&str>) -> aomi_store::NewChat {
    aomi_store::NewChat { id: id.into(), owner: owner.map(addr), app: "default".into(), chain_id: Some(1), model: None }
}
