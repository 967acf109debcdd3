//! Each chat's compaction: the summary of its older turns, replaced as it grows.

use std::sync::Arc;

use aomi_core::ChatMessage;
use aomi_store::{CompactionRecord, NewTurn, Store, StoreError, TurnStart, TurnState};
use serde_json::json;

use crate::{both, new_chat};

both!(a_chat_keeps_one_compaction_that_each_write_replaces, a_turns_start_reads_its_chats_compaction);

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

/// `start_turn` reads the chat's compaction with the history, as `compaction` reads it.
async fn a_turns_start_reads_its_chats_compaction(store: Arc<dyn Store>) {
    let start = |n: u32| TurnStart {
        chat: new_chat("c2", None),
        turn: NewTurn { id: format!("t{n}"), chat_id: "c2".into(), message_id: format!("a{n}") },
        message: Some(ChatMessage::user_text(format!("u{n}"), "hello")),
        replaces: None,
        max_messages: None,
    };
    let started = store.start_turn(&start(1)).await.unwrap();
    assert_eq!(started.compaction, None, "a new chat has none");
    store.end_turn("t1", TurnState::Finished).await.unwrap();

    let record = CompactionRecord {
        chat_id: "c2".into(),
        summary: "Earlier turns.".into(),
        covers_through: "u1".into(),
        covered: 1,
        state: json!({ "covered": 1, "coversThrough": "u1" }),
        updated_at: chrono::Utc::now(),
    };
    store.put_compaction(&record).await.unwrap();
    let started = store.start_turn(&start(2)).await.unwrap();
    assert_eq!(started.compaction, store.compaction("c2").await.unwrap());
    assert_eq!(started.compaction.map(|read| read.state), Some(record.state));
    assert_eq!(started.history.len(), 2, "the history still comes with it");
}
