//! Each chat's compaction: the summary of its older turns, replaced as it grows.

use std::sync::Arc;

use aomi_store::{CompactionRecord, Store, StoreError};
use serde_json::json;

use crate::{both, new_chat};

both!(a_chat_keeps_one_compaction_that_each_write_replaces);

async fn a_chat_keeps_one_compaction_that_each_write_replaces(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", None)).await.unwrap();
    assert!(store.compaction("c1").await.unwrap().is_none(), "no compaction before the first");
    let first = CompactionRecord {
        chat_id: "c1".into(),
        summary: "The user's vault code is ZEBRA-1234.".into(),
        covers_through: "m4".into(),
        covered: 4,
        state: json!({ "facts": ["vault code ZEBRA-1234"], "digests": { "call_1": "a long report" } }),
        updated_at: chrono::Utc::now(),
    };
    let saved = store.put_compaction(&first).await.unwrap();
    assert_eq!(store.compaction("c1").await.unwrap().unwrap(), saved, "reads back as written");

    let second =
        CompactionRecord { summary: "Later.".into(), covers_through: "m9".into(), covered: 9, ..first.clone() };
    store.put_compaction(&second).await.unwrap();
    let read = store.compaction("c1").await.unwrap().unwrap();
    assert_eq!((read.summary.as_str(), read.covers_through.as_str(), read.covered), ("Later.", "m9", 9));
    assert_eq!(read.state, first.state);

    let bad = CompactionRecord { state: json!([1]), ..first.clone() };
    assert!(matches!(store.put_compaction(&bad).await, Err(StoreError::InvalidInput(_))));
    let orphan = CompactionRecord { chat_id: "nowhere".into(), ..first.clone() };
    assert!(store.put_compaction(&orphan).await.is_err(), "a compaction belongs to a chat");

    store.delete_chat("c1").await.unwrap();
    assert!(store.compaction("c1").await.unwrap().is_none(), "deleting the chat deletes its compaction");
}
