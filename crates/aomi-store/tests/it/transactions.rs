//! Requested transactions.

use std::sync::Arc;

use aomi_store::{NewTransaction, Store, StoreError, TransactionOutcome};
use serde_json::json;

use crate::{ALICE, addr, both, new_chat};

both!(
    a_request_records_its_simulation_and_outcome,
    bad_transaction_input_is_refused,
    a_held_request_keeps_its_user_message,
    a_signature_request_keeps_its_signature
);

fn request(id: &str, chat_id: &str) -> NewTransaction {
    NewTransaction {
        id: id.into(),
        chat_id: chat_id.into(),
        message_id: Some("a1".into()),
        chain_id: 31337,
        from: Some(addr(ALICE)),
        request: json!({ "to": "0x00000000000000000000000000000000000000ff", "value": "1000000000000000000", "data": "0x" }),
        simulation: None,
    }
}

async fn a_request_records_its_simulation_and_outcome(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    store.put_transaction(&request("tx1", "c1")).await.unwrap();
    store.put_transaction(&request("tx2", "c1")).await.unwrap();
    let pending = store.transaction("tx1").await.unwrap().unwrap();
    assert_eq!(pending.outcome, TransactionOutcome::Pending);
    assert_eq!(
        pending.request.from.map(|from| from.to_lowercase_hex()).as_deref(),
        Some(ALICE.to_lowercase().as_str())
    );
    assert_eq!(pending.request.request["value"], "1000000000000000000");

    let report = json!({ "success": true, "gasUsed": "21000", "assetChanges": [] });
    store.set_simulation("tx1", &report).await.unwrap();
    let sent = TransactionOutcome::Sent { tx_hash: format!("0x{}", "ab".repeat(32)) };
    store.set_transaction_outcome("tx1", &sent).await.unwrap();
    let rejected = TransactionOutcome::Rejected { reason: Some("User rejected the request.".into()) };
    store.set_transaction_outcome("tx2", &rejected).await.unwrap();

    let all = store.chat_transactions("c1").await.unwrap();
    assert_eq!(all.iter().map(|t| t.request.id.as_str()).collect::<Vec<_>>(), ["tx1", "tx2"]);
    assert_eq!(all[0].request.simulation.as_ref(), Some(&report));
    assert_eq!(all[0].outcome, sent);
    assert_eq!(all[1].outcome, rejected);
    assert!(all[0].updated_at >= all[0].created_at);

    store.delete_chat("c1").await.unwrap();
    assert!(store.transaction("tx1").await.unwrap().is_none(), "a deleted chat takes its transactions along");
}

async fn bad_transaction_input_is_refused(store: Arc<dyn Store>) {
    assert!(matches!(store.put_transaction(&request("tx1", "nope")).await, Err(StoreError::ChatNotFound(_))));
    store.ensure_chat(new_chat("c1", None)).await.unwrap();
    store.put_transaction(&request("tx1", "c1")).await.unwrap();
    let error = store.put_transaction(&request("tx1", "c1")).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput(m) if m.contains("already recorded")));
    let outcome = TransactionOutcome::Failed { error: "nonce too low".into() };
    assert!(matches!(store.set_transaction_outcome("tx9", &outcome).await, Err(StoreError::TransactionNotFound(_))));
    assert!(matches!(store.set_simulation("tx9", &json!({})).await, Err(StoreError::TransactionNotFound(_))));
}

async fn a_held_request_keeps_its_user_message(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    for (id, held) in [
        ("tx1", TransactionOutcome::Held { user_message: Some("u1".into()) }),
        ("tx2", TransactionOutcome::Held { user_message: None }),
    ] {
        store.put_transaction(&request(id, "c1")).await.unwrap();
        store.set_transaction_outcome(id, &held).await.unwrap();
        assert_eq!(store.transaction(id).await.unwrap().unwrap().outcome, held, "the schema takes 'held'");
    }
}

async fn a_signature_request_keeps_its_signature(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    let mut signature = request("sig1", "c1");
    signature.request = json!({ "method": "personal_sign", "message": "hello" });
    signature.simulation = Some(json!({ "kind": "personal-message", "warnings": [] }));
    store.put_transaction(&signature).await.unwrap();
    let signed = TransactionOutcome::Signed { signature: format!("0x{}", "ab".repeat(65)) };
    store.set_transaction_outcome("sig1", &signed).await.unwrap();
    let record = store.transaction("sig1").await.unwrap().unwrap();
    assert_eq!(record.outcome, signed, "the schema takes 'signed'");
    assert_eq!(record.request.simulation, signature.simulation, "the review is kept");
}
