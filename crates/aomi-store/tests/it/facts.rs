//! Facts (labels, token notes, protocol notes), global or per wallet, and the answer cache.

use std::sync::Arc;
use std::time::Duration;

use aomi_store::{AnswerCache, FactKind, FactQuery, FactRecord, FactStore, GLOBAL, Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{addr, both};

both!(
    a_wallet_sees_its_own_facts_and_the_global_ones_only,
    facts_are_searched_by_words_and_bad_input_is_refused,
    answers_are_cached_for_their_age_and_old_ones_forgotten
);

const ALICE: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const BOB: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const USDC: &str = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";

fn fact(owner: Option<&str>, chain_id: u64, subject: &str, value: &str) -> FactRecord {
    FactRecord {
        owner: owner.map(addr),
        kind: FactKind::Label,
        chain_id,
        subject: subject.into(),
        value: value.into(),
        source: if owner.is_some() { "user" } else { "curated" }.into(),
        updated_at: DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
    }
}

async fn a_wallet_sees_its_own_facts_and_the_global_ones_only(store: Arc<dyn Store>) {
    let facts: Arc<dyn FactStore> = store;
    facts.put_fact(&fact(None, 1, USDC, "USDC (Circle)")).await.unwrap();
    facts.put_fact(&fact(None, 0, BOB, "devnet account #1")).await.unwrap();
    facts.put_fact(&fact(Some(ALICE), 0, BOB, "my cold wallet")).await.unwrap();
    let subjects = vec![BOB.to_owned(), USDC.to_owned()];

    // Alice: her own label of Bob first, then the global ones.
    let seen = facts.facts_about(Some(addr(ALICE)), FactKind::Label, 1, &subjects).await.unwrap();
    let values: Vec<&str> = seen.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(values, ["my cold wallet", "devnet account #1", "USDC (Circle)"]);
    assert_eq!(seen[0], fact(Some(ALICE), 0, BOB, "my cold wallet"), "read back as written");

    // Bob's own wallet, and no wallet, see the global ones only.
    for owner in [Some(addr(BOB)), GLOBAL] {
        let seen = facts.facts_about(owner, FactKind::Label, 1, &subjects).await.unwrap();
        assert!(seen.iter().all(|f| f.owner.is_none()), "{seen:?}");
        assert_eq!(seen.len(), 2);
    }
    // A fact of another chain does not show; chain 0 shows everywhere.
    let on_base = facts.facts_about(Some(addr(ALICE)), FactKind::Label, 8453, &subjects).await.unwrap();
    assert_eq!(on_base.iter().map(|f| f.value.as_str()).collect::<Vec<_>>(), ["my cold wallet", "devnet account #1"]);
    assert!(facts.facts_about(GLOBAL, FactKind::Note, 1, &subjects).await.unwrap().is_empty(), "another kind");

    // Writing again replaces; counting and forgetting are per wallet.
    facts.put_fact(&fact(Some(ALICE), 0, BOB, "savings")).await.unwrap();
    assert_eq!(facts.count_facts(Some(addr(ALICE))).await.unwrap(), 1);
    assert_eq!(facts.count_facts(GLOBAL).await.unwrap(), 2);
    assert!(!facts.delete_fact(Some(addr(BOB)), FactKind::Label, 0, BOB).await.unwrap(), "not Bob's fact");
    assert!(facts.delete_fact(Some(addr(ALICE)), FactKind::Label, 0, BOB).await.unwrap());
    assert_eq!(facts.count_facts(Some(addr(ALICE))).await.unwrap(), 0);
    let left = facts.facts_about(Some(addr(ALICE)), FactKind::Label, 1, &subjects).await.unwrap();
    assert_eq!(left.len(), 2);
}

async fn facts_are_searched_by_words_and_bad_input_is_refused(store: Arc<dyn Store>) {
    store.put_fact(&fact(Some(ALICE), 0, BOB, "My Cold Wallet")).await.unwrap();
    store.put_fact(&fact(Some(BOB), 0, ALICE, "cold storage of Bob")).await.unwrap();
    store.put_fact(&fact(None, 1, USDC, "USDC 100% backed_by cash")).await.unwrap();
    let query = |owner: Option<&str>, text: &str| FactQuery {
        owner: owner.map(addr),
        kind: None,
        text: text.into(),
        chain_id: None,
        limit: 10,
    };
    let found = store.find_facts(&query(Some(ALICE), "cold wallet")).await.unwrap();
    assert_eq!(
        found.iter().map(|f| f.value.as_str()).collect::<Vec<_>>(),
        ["My Cold Wallet"],
        "case-insensitive, Alice's only"
    );
    let by_address = store.find_facts(&query(Some(ALICE), &BOB[..8])).await.unwrap();
    assert_eq!(by_address.len(), 1, "the subject is searched too");
    // LIKE's wildcards are taken literally.
    assert_eq!(store.find_facts(&query(None, "100%")).await.unwrap().len(), 1);
    assert!(store.find_facts(&query(None, "100%x")).await.unwrap().is_empty());
    assert!(store.find_facts(&query(None, "d_by")).await.unwrap().len() == 1);
    assert!(store.find_facts(&query(None, "e_by")).await.unwrap().is_empty());
    // Every fact this wallet sees, its own first; a chain filter keeps facts of every chain.
    let all = store.find_facts(&query(Some(ALICE), "")).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].owner.is_some());
    let on_base = FactQuery { chain_id: Some(8453), ..query(Some(ALICE), "") };
    assert_eq!(store.find_facts(&on_base).await.unwrap().len(), 1);

    assert!(matches!(
        store.find_facts(&FactQuery { limit: 0, ..query(None, "") }).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(matches!(store.put_fact(&fact(None, 1, USDC, "  ")).await, Err(StoreError::InvalidInput(_))));
    let many: Vec<String> = (0..501).map(|i| format!("s{i}")).collect();
    assert!(matches!(store.facts_about(GLOBAL, FactKind::Label, 1, &many).await, Err(StoreError::InvalidInput(_))));
}

async fn answers_are_cached_for_their_age_and_old_ones_forgotten(store: Arc<dyn Store>) {
    let cache: Arc<dyn AnswerCache> = store;
    let answer = json!([{ "hash": "0x01" }]);
    assert_eq!(cache.cached_answer("k", Duration::from_secs(60)).await.unwrap(), None);
    cache.put_answer("k", &answer, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(cache.cached_answer("k", Duration::from_secs(60)).await.unwrap(), Some(answer.clone()));
    assert_eq!(cache.cached_answer("k", Duration::ZERO).await.unwrap(), None, "older than a zero age");
    // A put with no time to keep forgets every older answer.
    cache.put_answer("other", &json!(1), Duration::ZERO).await.unwrap();
    assert_eq!(cache.cached_answer("k", Duration::from_secs(60)).await.unwrap(), None);
    assert_eq!(cache.cached_answer("other", Duration::from_secs(60)).await.unwrap(), Some(json!(1)));
}
