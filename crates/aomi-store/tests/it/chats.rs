//! Chats, messages, users, paging, rename, archive, delete.

use std::sync::Arc;

use aomi_core::{ChatMessage, MessagePart, Role, ToolPart, ToolState};
use aomi_store::{ChatCursor, ChatQuery, NewChat, Store, StoreError};
use serde_json::json;

use crate::{ALICE, BOB, addr, address_error, both, new_chat};

both!(
    messages_round_trip_in_order_and_replace_in_place,
    ensure_chat_keeps_the_owner_and_tracks_the_user,
    chats_page_newest_first_per_owner,
    bad_page_requests_are_refused,
    rename_archive_and_delete,
    a_chat_keeps_the_model_it_was_created_with,
);

fn answer(id: &str) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        role: Role::Assistant,
        parts: vec![
            MessagePart::StepStart,
            MessagePart::Tool(ToolPart {
                tool_name: "get_balance".into(),
                tool_call_id: "call-1".into(),
                state: ToolState::OutputAvailable,
                input: json!({ "address": "0x01" }),
                output: Some(json!({ "wei": "1000000000000000000" })),
                error_text: None,
            }),
            MessagePart::text("You hold 1 ETH."),
        ],
        metadata: Some(json!({ "model": "stub" })),
    }
}

async fn messages_round_trip_in_order_and_replace_in_place(store: Arc<dyn Store>) {
    let chat = store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    assert!(chat.title.is_none() && !chat.archived && !chat.running);
    store.put_message("c1", &ChatMessage::user_text("u1", "what is my balance?")).await.unwrap();
    let mut partial = answer("a1");
    partial.parts.truncate(2);
    partial.mark_incomplete();
    store.put_message("c1", &partial).await.unwrap();
    store.put_message("c1", &ChatMessage::user_text("u2", "thanks")).await.unwrap();

    // Replacing a message keeps its place.
    store.put_message("c1", &answer("a1")).await.unwrap();
    let messages = store.messages("c1").await.unwrap();
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1", "a1", "u2"]);
    assert_eq!(store.message_count("c1").await.unwrap(), 3, "a replaced message is counted once");
    assert_eq!(store.message_count("unknown").await.unwrap(), 0);
    assert_eq!(messages[1], answer("a1"), "parts, tool calls and metadata come back as stored");
    assert!(!messages[1].is_incomplete());

    let later = store.chat("c1").await.unwrap().unwrap();
    assert!(later.updated_at >= chat.updated_at);
    assert!(store.messages("unknown").await.unwrap().is_empty());
    let error = store.put_message("unknown", &ChatMessage::user_text("u", "hi")).await.unwrap_err();
    assert!(matches!(error, StoreError::ChatNotFound(id) if id == "unknown"));
}

async fn ensure_chat_keeps_the_owner_and_tracks_the_user(store: Arc<dyn Store>) {
    assert!(store.user(addr(ALICE)).await.unwrap().is_none());
    let first = store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    assert_eq!(
        first.owner.map(|owner| owner.to_lowercase_hex()).as_deref(),
        Some(ALICE.to_lowercase().as_str()),
        "addresses are stored lower case"
    );
    assert_eq!(serde_json::to_value(&first).unwrap()["owner"], ALICE.to_lowercase(), "and serialised so");
    assert_eq!(first.chain_id, Some(1));
    let user = store.user(addr(&ALICE.to_lowercase())).await.unwrap().unwrap();
    assert_eq!(user.first_seen, user.last_seen);

    // The same chat again, from another network: same chat, new chain id, the user seen again.
    let again = store.ensure_chat(NewChat { chain_id: Some(10), ..new_chat("c1", Some(ALICE)) }).await.unwrap();
    assert_eq!((again.created_at, again.owner), (first.created_at, first.owner));
    assert_eq!(again.chain_id, Some(10));
    let user = store.user(addr(ALICE)).await.unwrap().unwrap();
    assert!(user.last_seen >= user.first_seen);

    let anonymous = store.ensure_chat(new_chat("c2", None)).await.unwrap();
    assert_eq!(anonymous.owner, None);
    // A malformed owner never reaches the store: parsing the text refuses it.
    let error = address_error("0x12");
    assert!(matches!(error, StoreError::InvalidInput(m) if m.contains("not an address")));
}

async fn chats_page_newest_first_per_owner(store: Arc<dyn Store>) {
    for i in 0..5 {
        let id = format!("alice-{i}");
        store.ensure_chat(new_chat(&id, Some(ALICE))).await.unwrap();
        store.put_message(&id, &ChatMessage::user_text(format!("m{i}"), "hello")).await.unwrap();
    }
    store.ensure_chat(new_chat("bob-0", Some(BOB))).await.unwrap();
    // Touching an old chat moves it to the top.
    store.put_message("alice-1", &ChatMessage::user_text("again", "hello again")).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let query = ChatQuery { owner: addr(ALICE), archived: false, limit: 2, after: after.clone() };
        let page = store.list_chats(&query).await.unwrap();
        assert!(page.chats.len() <= 2);
        seen.extend(page.chats.iter().map(|c| c.id.clone()));
        match page.next {
            Some(next) => {
                // The cursor survives its text form.
                after = Some(next.to_string().parse::<ChatCursor>().unwrap());
            }
            None => break,
        }
    }
    assert_eq!(seen, ["alice-1", "alice-4", "alice-3", "alice-2", "alice-0"]);

    let bob = store.list_chats(&ChatQuery { owner: addr(BOB), archived: false, limit: 10, after: None }).await.unwrap();
    assert_eq!(bob.chats.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["bob-0"]);
    assert!(bob.next.is_none());
}

async fn bad_page_requests_are_refused(store: Arc<dyn Store>) {
    for limit in [0, 101] {
        let query = ChatQuery { owner: addr(ALICE), archived: false, limit, after: None };
        let error = store.list_chats(&query).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidInput(m) if m.contains("limit")), "limit {limit}");
    }
    for cursor in ["", "nope", "12", "x.chat", "99999999999999999999.chat", "5."] {
        assert!(matches!(cursor.parse::<ChatCursor>(), Err(StoreError::InvalidInput(_))), "cursor {cursor:?}");
    }
    assert!(matches!(address_error("alice"), StoreError::InvalidInput(_)));
}

async fn rename_archive_and_delete(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    store.ensure_chat(new_chat("c2", Some(ALICE))).await.unwrap();
    store.put_message("c1", &ChatMessage::user_text("u1", "hello")).await.unwrap();

    // A generated title is set once, and never over a chosen one.
    assert!(store.set_title_if_missing("c1", "Generated").await.unwrap());
    assert!(!store.set_title_if_missing("c1", "Generated again").await.unwrap());
    store.rename_chat("c2", "Chosen").await.unwrap();
    assert!(!store.set_title_if_missing("c2", "Generated").await.unwrap());
    assert_eq!(store.chat("c1").await.unwrap().unwrap().title.as_deref(), Some("Generated"));
    assert_eq!(store.chat("c2").await.unwrap().unwrap().title.as_deref(), Some("Chosen"));

    store.set_archived("c2", true).await.unwrap();
    let listed = |archived| ChatQuery { owner: addr(ALICE), archived, limit: 10, after: None };
    let active = store.list_chats(&listed(false)).await.unwrap();
    let archived = store.list_chats(&listed(true)).await.unwrap();
    assert_eq!(active.chats.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1"]);
    assert_eq!(archived.chats.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
    assert!(archived.chats[0].archived);
    store.set_archived("c2", false).await.unwrap();
    assert_eq!(store.list_chats(&listed(false)).await.unwrap().chats.len(), 2);

    store.delete_chat("c1").await.unwrap();
    assert!(store.chat("c1").await.unwrap().is_none());
    assert!(store.messages("c1").await.unwrap().is_empty());
    for result in
        [store.rename_chat("c1", "x").await, store.set_archived("c1", true).await, store.delete_chat("c1").await]
    {
        assert!(matches!(result, Err(StoreError::ChatNotFound(id)) if id == "c1"));
    }
    // The id can start a new chat.
    store.ensure_chat(new_chat("c1", Some(BOB))).await.unwrap();
    assert!(store.messages("c1").await.unwrap().is_empty());
}

/// The model column (migration 0011): set when the chat is created, kept by later turns that name
/// another (or none), `None` for a chat on the default model; every read returns it.
async fn a_chat_keeps_the_model_it_was_created_with(store: Arc<dyn Store>) {
    let on_b = |id: &str| NewChat { model: Some("model-b".into()), ..new_chat(id, Some(ALICE)) };
    let created = store.ensure_chat(on_b("m1")).await.unwrap();
    assert_eq!(created.model.as_deref(), Some("model-b"));
    let other = NewChat { model: Some("model-a".into()), ..new_chat("m1", Some(ALICE)) };
    assert_eq!(store.ensure_chat(other).await.unwrap().model.as_deref(), Some("model-b"), "kept on a later turn");
    assert_eq!(store.ensure_chat(new_chat("m1", Some(ALICE))).await.unwrap().model.as_deref(), Some("model-b"));
    assert_eq!(store.chat("m1").await.unwrap().unwrap().model.as_deref(), Some("model-b"));

    let default = store.ensure_chat(new_chat("m2", Some(ALICE))).await.unwrap();
    assert_eq!(default.model, None, "no model: the server's default");

    // The turn's own path (chat, claim and message in one commit) stores it too.
    let start = aomi_store::TurnStart {
        chat: on_b("m3"),
        turn: aomi_store::NewTurn { id: "t-m3".into(), chat_id: "m3".into(), message_id: "a-m3".into() },
        message: Some(ChatMessage::user_text("u-m3", "hello")),
        replaces: None,
        max_messages: None,
    };
    assert_eq!(store.start_turn(&start).await.unwrap().chat.model.as_deref(), Some("model-b"));

    let page =
        store.list_chats(&ChatQuery { owner: addr(ALICE), archived: false, limit: 10, after: None }).await.unwrap();
    let mut models: Vec<(String, Option<String>)> = page.chats.into_iter().map(|c| (c.id, c.model)).collect();
    models.sort();
    assert_eq!(
        models,
        [("m1".into(), Some("model-b".into())), ("m2".into(), None), ("m3".into(), Some("model-b".into()))]
    );
}
