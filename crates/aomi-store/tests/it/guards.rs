//! Spend guards: a wallet's settings, and the requests that count against its daily limit.

use std::sync::Arc;

use aomi_store::{NewTransaction, Store, StoreError, TransactionOutcome};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::{ALICE, BOB, addr, both, new_chat};

both!(a_wallet_keeps_its_own_guards, only_requests_that_may_have_moved_funds_count_as_spending);

async fn a_wallet_keeps_its_own_guards(store: Arc<dyn Store>) {
    assert!(store.guards(addr(ALICE)).await.unwrap().is_none(), "no settings before they are saved");
    let strict = json!({ "level": "strict", "maxTransactionUsd": 100.5, "allowed": [{ "address": BOB }] });
    let saved = store.put_guards(addr(ALICE), &strict).await.unwrap();
    let read = store.guards(addr(ALICE)).await.unwrap().unwrap();
    assert_eq!(read, saved, "the record reads back as written, to the microsecond");
    assert_eq!(read.settings, strict);
    assert!(store.guards(addr(BOB)).await.unwrap().is_none(), "another wallet's guards are its own");

    let open = json!({ "level": "open" });
    store.put_guards(addr(ALICE), &open).await.unwrap();
    assert_eq!(store.guards(addr(ALICE)).await.unwrap().unwrap().settings, open, "a save replaces the settings");
    assert!(matches!(store.put_guards(addr(ALICE), &json!([1])).await, Err(StoreError::InvalidInput(_))));
}

fn request(id: &str, from: &str) -> NewTransaction {
    NewTransaction {
        id: id.into(),
        chat_id: "c1".into(),
        message_id: None,
        chain_id: 31337,
        from: Some(addr(from)),
        request: json!({ "to": BOB, "value": "1" }),
        simulation: Some(json!({ "assetChanges": [] })),
    }
}

async fn only_requests_that_may_have_moved_funds_count_as_spending(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    for id in ["sent", "pending", "held", "rejected", "failed"] {
        store.put_transaction(&request(id, ALICE)).await.unwrap();
    }
    store.put_transaction(&request("bob", BOB)).await.unwrap();
    let hash = format!("0x{}", "ab".repeat(32));
    store.set_transaction_outcome("sent", &TransactionOutcome::Sent { tx_hash: hash }).await.unwrap();
    store.set_transaction_outcome("held", &TransactionOutcome::Held { user_message: None }).await.unwrap();
    store.set_transaction_outcome("rejected", &TransactionOutcome::Rejected { reason: None }).await.unwrap();
    store.set_transaction_outcome("failed", &TransactionOutcome::Failed { error: "x".into() }).await.unwrap();

    let day_ago = Utc::now() - Duration::hours(24);
    let counted = store.spending_requests(addr(ALICE), day_ago).await.unwrap();
    let ids: Vec<&str> = counted.iter().map(|t| t.request.id.as_str()).collect();
    assert_eq!(ids, ["sent", "pending"], "held, rejected and failed requests moved nothing; Bob's are his");
    assert_eq!(counted[0].request.simulation, Some(json!({ "assetChanges": [] })));
    let later = store.spending_requests(addr(ALICE), Utc::now() + Duration::seconds(5)).await.unwrap();
    assert!(later.is_empty(), "requests before `since` do not count");
}
