//! Full-text search over an owner's messages.

use std::sync::Arc;

use aomi_core::{ChatMessage, Role};
use aomi_store::{SearchQuery, Store, StoreError};

use crate::{ALICE, BOB, addr, both, new_chat};

both!(search_finds_words_in_the_owners_chats_only, search_follows_edits_and_deletes, bad_searches_are_refused);

fn query(owner: &str, text: &str) -> SearchQuery {
    SearchQuery { owner: addr(owner), text: text.into(), limit: 20 }
}

async fn search_finds_words_in_the_owners_chats_only(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("old", Some(ALICE))).await.unwrap();
    store.rename_chat("old", "Swaps").await.unwrap();
    store
        .put_message(
            "old",
            &ChatMessage::user_text("u1", "Please swap 10 USDC for WETH on Uniswap, slippage one percent"),
        )
        .await
        .unwrap();
    let mut answer = ChatMessage::assistant("a1");
    answer.parts.push(aomi_core::MessagePart::text("I prepared the swap; your wallet will show it."));
    store.put_message("old", &answer).await.unwrap();
    store.ensure_chat(new_chat("other", Some(ALICE))).await.unwrap();
    store.put_message("other", &ChatMessage::user_text("u2", "what is the gas price?")).await.unwrap();
    store.ensure_chat(new_chat("bobs", Some(BOB))).await.unwrap();
    store.put_message("bobs", &ChatMessage::user_text("u3", "swap my USDC for WETH")).await.unwrap();

    let hits = store.search(&query(ALICE, "usdc")).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!((hit.chat_id.as_str(), hit.message_id.as_str(), hit.role), ("old", "u1", Role::User));
    assert_eq!(hit.chat_title.as_deref(), Some("Swaps"));
    assert!(hit.snippet.contains("**USDC**"), "the match is marked: {}", hit.snippet);

    // Every word must occur; a word's beginning matches ("swap" finds "swapped" is not needed:
    // "Unisw" finds "Uniswap").
    let hits = store.search(&query(ALICE, "weth unisw")).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.message_id.as_str()).collect::<Vec<_>>(), ["u1"]);
    let hits = store.search(&query(ALICE, "swap")).await.unwrap();
    let mut ids: Vec<&str> = hits.iter().map(|h| h.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a1", "u1"], "both of Alice's messages, never Bob's");
    assert!(store.search(&query(ALICE, "weth gas")).await.unwrap().is_empty());

    // Bob finds only his own.
    let hits = store.search(&query(BOB, "swap")).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.chat_id.as_str()).collect::<Vec<_>>(), ["bobs"]);
    // An owner with no chats finds nothing.
    let nobody = "0x0000000000000000000000000000000000000001";
    assert!(store.search(&query(nobody, "swap")).await.unwrap().is_empty());
}

async fn search_follows_edits_and_deletes(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    // A streamed answer is stored several times as it grows.
    let mut answer = ChatMessage::assistant("a1");
    answer.parts.push(aomi_core::MessagePart::text("Checking the pelican contract"));
    store.put_message("c1", &answer).await.unwrap();
    answer.parts = vec![aomi_core::MessagePart::text("The flamingo contract is verified.")];
    store.put_message("c1", &answer).await.unwrap();
    assert!(store.search(&query(ALICE, "pelican")).await.unwrap().is_empty(), "the old text is no longer found");
    assert_eq!(store.search(&query(ALICE, "flamingo")).await.unwrap().len(), 1);

    store.set_archived("c1", true).await.unwrap();
    let hits = store.search(&query(ALICE, "flamingo")).await.unwrap();
    assert!(hits[0].archived, "archived chats are searched too, and say so");

    store.delete_chat("c1").await.unwrap();
    assert!(store.search(&query(ALICE, "flamingo")).await.unwrap().is_empty());
}

async fn bad_searches_are_refused(store: Arc<dyn Store>) {
    for text in ["", "   ", "!!! ???", "\"*&|:"] {
        let error = store.search(&query(ALICE, text)).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidInput(m) if m.contains("at least one word")), "{text:?}");
    }
    // Operators of either database's query language are just words or ignored.
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    store.put_message("c1", &ChatMessage::user_text("u1", "near the OR gate")).await.unwrap();
    for text in ["NOT near", "near*", "near & gate", "gate:* | x", "\"near\" OR"] {
        store.search(&query(ALICE, text)).await.unwrap();
    }
    assert_eq!(store.search(&query(ALICE, "\"near\" OR")).await.unwrap().len(), 1);
    let error = store.search(&SearchQuery { owner: addr(ALICE), text: "near".into(), limit: 0 }).await.unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput(_)));
}
