//! Running turns: one per chat, stale ones interrupted, parts for other instances.

use std::sync::Arc;
use std::time::Duration;

use aomi_core::{ChatMessage, UiChunk};
use aomi_store::testing::{TempDir, TestPostgres};
use aomi_store::{NewTurn, Store, StoreConfig, StoreError, TurnStart, TurnState};
use tokio::sync::broadcast::Receiver;

use crate::{ALICE, BOB, addr, both, new_chat};

both!(
    one_turn_runs_per_chat,
    turn_parts_are_read_in_order_from_any_position,
    a_turn_starts_in_one_commit,
    a_turn_ends_with_its_message_in_one_commit
);

fn turn(id: &str, chat_id: &str, message_id: &str) -> NewTurn {
    NewTurn { id: id.into(), chat_id: chat_id.into(), message_id: message_id.into() }
}

async fn one_turn_runs_per_chat(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    store.ensure_chat(new_chat("c2", Some(ALICE))).await.unwrap();
    store.begin_turn(&turn("t1", "c1", "a1")).await.unwrap();
    let error = store.begin_turn(&turn("t2", "c1", "a2")).await.unwrap_err();
    assert!(matches!(error, StoreError::TurnRunning(chat) if chat == "c1"));
    store.begin_turn(&turn("t3", "c2", "a3")).await.unwrap();
    assert!(store.chat("c1").await.unwrap().unwrap().running);

    let running = store.running_turn("c1").await.unwrap().unwrap();
    assert_eq!((running.id.as_str(), running.message_id.as_str()), ("t1", "a1"));
    assert_eq!(running.instance, store.instance_id());
    store.heartbeat_turn("t1").await.unwrap();
    store.end_turn("t1", TurnState::Finished).await.unwrap();
    assert!(store.running_turn("c1").await.unwrap().is_none());
    assert!(!store.chat("c1").await.unwrap().unwrap().running);
    let ended = store.turn("t1").await.unwrap().unwrap();
    assert_eq!(ended.state, TurnState::Finished);
    assert!(ended.ended_at.is_some());
    // Ending twice changes nothing.
    store.end_turn("t1", TurnState::Interrupted).await.unwrap();
    assert_eq!(store.turn("t1").await.unwrap().unwrap().state, TurnState::Finished);

    store.begin_turn(&turn("t2", "c1", "a2")).await.unwrap();
    let error = store.begin_turn(&turn("t9", "missing", "a9")).await.unwrap_err();
    assert!(matches!(error, StoreError::ChatNotFound(_)), "{error:?}");
    // Nothing interrupts live turns of this instance.
    assert!(store.interrupt_stale_turns().await.unwrap().is_empty());
}

/// A start of turn `turn_id` in Alice's chat `chat_id` with the user message `message_id`.
fn start_in(chat_id: &str, turn_id: &str, message_id: &str) -> TurnStart {
    TurnStart {
        chat: new_chat(chat_id, Some(ALICE)),
        turn: turn(turn_id, chat_id, &format!("a-{turn_id}")),
        message: Some(ChatMessage::user_text(message_id, "hello again")),
        replaces: None,
        max_messages: None,
    }
}

fn assistant_text(id: &str, text: &str) -> ChatMessage {
    let mut message = ChatMessage::assistant(id);
    message.parts.push(aomi_core::MessagePart::text(text));
    message
}

/// `end_turn_with_message` stores the answer and ends the turn together, and writes neither when
/// the message cannot be stored.
async fn a_turn_ends_with_its_message_in_one_commit(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("e1", Some(ALICE))).await.unwrap();
    store.begin_turn(&turn("t1", "e1", "a1")).await.unwrap();
    let mut events = store.subscribe_turns().await.unwrap();
    let answer = assistant_text("a1", "the answer");
    store.end_turn_with_message("t1", TurnState::Finished, "e1", &answer).await.unwrap();
    assert_eq!(store.turn("t1").await.unwrap().unwrap().state, TurnState::Finished);
    assert!(!store.chat("e1").await.unwrap().unwrap().running);
    let stored = store.messages("e1").await.unwrap();
    assert_eq!(stored.iter().map(ChatMessage::text).collect::<Vec<_>>(), ["the answer"]);
    // Followers are woken as by `end_turn`.
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert!(&*event == "t1" || &*event == aomi_store::turn::ANY_TURN, "{event}");

    // A message for a chat that does not exist: nothing is written, the turn still runs.
    store.begin_turn(&turn("t2", "e1", "a2")).await.unwrap();
    let error = store
        .end_turn_with_message("t2", TurnState::Finished, "missing", &assistant_text("a2", "lost"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::ChatNotFound(_)), "{error:?}");
    assert_eq!(store.turn("t2").await.unwrap().unwrap().state, TurnState::Running);
}

/// `start_turn` creates the chat, claims it and stores the user's message together, and writes
/// nothing when any of them is refused.
async fn a_turn_starts_in_one_commit(store: Arc<dyn Store>) {
    let start = |turn_id: &str, message_id: &str| TurnStart {
        chat: new_chat("s1", Some(ALICE)),
        turn: turn(turn_id, "s1", &format!("a-{turn_id}")),
        message: Some(ChatMessage::user_text(message_id, "hello")),
        replaces: None,
        max_messages: None,
    };
    let started = store.start_turn(&start("t1", "u1")).await.unwrap();
    let chat = started.chat;
    let owner = chat.owner.map(|owner| owner.to_lowercase_hex());
    assert_eq!((chat.id.as_str(), owner.as_deref()), ("s1", Some(ALICE.to_lowercase().as_str())));
    assert_eq!(store.running_turn("s1").await.unwrap().unwrap().id, "t1");
    let ids = |messages: Vec<ChatMessage>| messages.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(store.messages("s1").await.unwrap()), ["u1"]);

    // A turn already runs: refused, and the message is not stored.
    let error = store.start_turn(&start("t2", "u2")).await.unwrap_err();
    assert!(matches!(error, StoreError::TurnRunning(_)), "{error:?}");
    assert_eq!(ids(store.messages("s1").await.unwrap()), ["u1"]);

    store.end_turn("t1", TurnState::Finished).await.unwrap();
    // A message id the chat holds: refused, and the chat is not claimed.
    let error = store.start_turn(&start("t3", "u1")).await.unwrap_err();
    assert!(matches!(&error, StoreError::DuplicateMessage(id) if id == "u1"), "{error:?}");
    assert!(store.running_turn("s1").await.unwrap().is_none());
    assert!(store.turn("t3").await.unwrap().is_none());

    let updated = || async { store.chat("s1").await.unwrap().unwrap().updated_at };
    let before = updated().await;
    let started = store.start_turn(&start("t4", "u4")).await.unwrap();
    assert!(!started.chat.running, "the chat as it was before the claim");
    // A new message moves the chat up its owner's list.
    let touched = updated().await;
    assert!(touched > before, "{touched} after {before}");
    // The history comes with the start: the chat's messages, the new one last, as a read after.
    assert_eq!(ids(started.history.clone()), ["u1", "u4"]);
    assert_eq!(started.history, store.messages("s1").await.unwrap());
    store.end_turn("t4", TurnState::Finished).await.unwrap();

    // Another wallet, or none, in Alice's chat: refused, and nothing of it is written (not the
    // message, not the claim, not its network).
    for speaker in [Some(BOB), None] {
        let mut foreign = start("t6", "u6");
        foreign.chat.owner = speaker.map(addr);
        foreign.chat.chain_id = Some(10);
        let error = store.start_turn(&foreign).await.unwrap_err();
        assert!(matches!(&error, StoreError::NotOwner(id) if id == "s1"), "{error:?}");
        assert_eq!(ids(store.messages("s1").await.unwrap()), ["u1", "u4"]);
        assert!(store.turn("t6").await.unwrap().is_none());
        assert_eq!(store.chat("s1").await.unwrap().unwrap().chain_id, Some(1));
        assert_eq!(updated().await, touched, "a refused turn does not move the chat");
    }

    // A chat as full as the start allows: refused, and nothing of it is written. One message
    // fewer than the limit still takes the new one.
    let mut full = start("t7", "u7");
    full.max_messages = Some(2);
    let error = store.start_turn(&full).await.unwrap_err();
    assert!(matches!(&error, StoreError::ChatFull { chat_id, count: 2 } if chat_id == "s1"), "{error:?}");
    assert_eq!(ids(store.messages("s1").await.unwrap()), ["u1", "u4"]);
    assert!(store.turn("t7").await.unwrap().is_none());
    full.max_messages = Some(3);
    store.start_turn(&full).await.unwrap();
    assert_eq!(ids(store.messages("s1").await.unwrap()), ["u1", "u4", "u7"]);
    store.end_turn("t7", TurnState::Finished).await.unwrap();

    // A turn without a new message (an answer asked for again) leaves the chat where it is.
    let before = updated().await;
    store.start_turn(&TurnStart { message: None, ..start("t8", "unused") }).await.unwrap();
    assert_eq!(updated().await, before);
    store.end_turn("t8", TurnState::Finished).await.unwrap();

    // A turn of another chat is refused before anything is written.
    let mut other = start("t5", "u5");
    other.turn.chat_id = "elsewhere".into();
    assert!(matches!(store.start_turn(&other).await.unwrap_err(), StoreError::InvalidInput(_)));
}

/// A request that goes away while its turn is being claimed leaves the chat free: the claim that
/// nobody received is released (SQLite runs the claim on its writer thread, to its end).
#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_claim_is_released_on_sqlite() {
    let db = crate::Db::sqlite().await;
    let store = db.store.clone();
    let mut abandoned = None;
    // The claim may finish before the first poll returns; try until one is dropped mid-way.
    for n in 0..50 {
        let chat = format!("drop{n}");
        let start = TurnStart {
            chat: new_chat(&chat, None),
            turn: turn(&format!("t{n}"), &chat, "a"),
            message: Some(ChatMessage::user_text(format!("u{n}"), "hello")),
            replaces: None,
            max_messages: None,
        };
        if tokio::time::timeout(Duration::ZERO, store.start_turn(&start)).await.is_err() {
            abandoned = Some((chat, format!("t{n}")));
            break;
        }
    }
    let (chat, turn_id) = abandoned.expect("a claim dropped before it answered");
    tokio::time::timeout(Duration::from_secs(10), async {
        while store.turn(&turn_id).await.unwrap().is_none_or(|t| t.state == TurnState::Running) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the abandoned claim is released");
    assert_eq!(store.turn(&turn_id).await.unwrap().unwrap().state, TurnState::Interrupted);
    // The message was stored (nothing lost), and the chat takes a new turn.
    assert_eq!(store.messages(&chat).await.unwrap().len(), 1);
    store.begin_turn(&turn("next", &chat, "a2")).await.unwrap();
}

/// Waits for an event about `turn_id` (or about any turn).
async fn event_for(events: &mut Receiver<Arc<str>>, turn_id: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.unwrap();
            if &*event == turn_id || &*event == aomi_store::turn::ANY_TURN {
                return;
            }
        }
    })
    .await
    .expect("an event for the turn");
}

fn parts(n: usize) -> Vec<UiChunk> {
    (0..n).map(|i| UiChunk::TextDelta { id: "t".into(), delta: format!("word{i} ") }).collect()
}

async fn turn_parts_are_read_in_order_from_any_position(store: Arc<dyn Store>) {
    store.ensure_chat(new_chat("c1", None)).await.unwrap();
    store.begin_turn(&turn("t1", "c1", "a1")).await.unwrap();
    let mut events = store.subscribe_turns().await.unwrap();
    let all = parts(7);
    store.append_turn_parts("t1", 0, &all[..3]).await.unwrap();
    event_for(&mut events, "t1").await;
    store.append_turn_parts("t1", 3, &all[3..]).await.unwrap();
    event_for(&mut events, "t1").await;
    assert_eq!(store.turn_parts("t1", 0).await.unwrap(), all);
    assert_eq!(store.turn_parts("t1", 5).await.unwrap(), all[5..]);
    assert!(store.turn_parts("t1", 7).await.unwrap().is_empty());
    assert!(store.append_turn_parts("t1", 6, &all[..1]).await.is_err(), "a part number is written once");

    store.end_turn("t1", TurnState::Finished).await.unwrap();
    event_for(&mut events, "t1").await;
    // Parts stay for late followers until pruned.
    assert_eq!(store.prune_turn_parts(Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.prune_turn_parts(Duration::ZERO).await.unwrap(), 7);
    assert!(store.turn_parts("t1", 0).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_restart_interrupts_the_turns_of_the_dead_process() {
    let dir = TempDir::new();
    let config = StoreConfig::in_data_dir(dir.path());
    {
        let store = aomi_store::connect_with(&config).await.unwrap();
        // A second process on the same file is refused.
        let error = aomi_store::connect_with(&config).await.unwrap_err();
        assert!(matches!(error, StoreError::InUse(_)), "{error:?}");
        assert!(error.to_string().contains("AOMI_DATA_DIR"));

        store.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
        store.put_message("c1", &ChatMessage::user_text("u1", "hello")).await.unwrap();
        store.begin_turn(&turn("t1", "c1", "a1")).await.unwrap();
        let mut partial = ChatMessage::assistant("a1");
        partial.parts.push(aomi_core::MessagePart::text("Half an ans"));
        store.put_message("c1", &partial).await.unwrap();
        // A turn that died before it stored anything.
        store.ensure_chat(new_chat("c2", Some(ALICE))).await.unwrap();
        store.put_message("c2", &ChatMessage::user_text("u2", "hi")).await.unwrap();
        store.begin_turn(&turn("t2", "c2", "a2")).await.unwrap();
        store.start_turn(&start_in("c3", "t5", "u5")).await.unwrap();
        // The process dies: the store goes away without ending its turns.
    }
    assert!(dir.path().join("aomi.db").exists());

    let store = aomi_store::connect_with(&config).await.unwrap();
    // A turn's start in a chat whose turn died with the process ends that turn and starts.
    let started = store.start_turn(&start_in("c3", "t6", "u6")).await.unwrap();
    assert_eq!(started.history.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["u5", "a-t5", "u6"]);
    assert!(started.history[1].is_incomplete());
    assert_eq!(store.turn("t5").await.unwrap().unwrap().state, TurnState::Interrupted);
    assert_eq!(store.running_turn("c3").await.unwrap().unwrap().id, "t6");
    assert!(!store.chat("c1").await.unwrap().unwrap().running, "a dead process turn is not live");
    let mut interrupted: Vec<String> = store.interrupt_stale_turns().await.unwrap().into_iter().map(|t| t.id).collect();
    interrupted.sort();
    // c1's turn may already have been interrupted by the look above; either way it ends interrupted.
    assert!(interrupted.contains(&"t2".to_owned()), "{interrupted:?}");
    for (chat, turn_id) in [("c1", "t1"), ("c2", "t2")] {
        assert_eq!(store.turn(turn_id).await.unwrap().unwrap().state, TurnState::Interrupted);
        let messages = store.messages(chat).await.unwrap();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[1].is_incomplete());
    }
    assert_eq!(store.messages("c1").await.unwrap()[1].text(), "Half an ans", "the partial answer is kept");
    assert!(store.messages("c2").await.unwrap()[1].parts.is_empty());
    // The chat takes a new turn.
    store.begin_turn(&turn("t3", "c1", "a3")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_instances_share_turns_and_take_over_stale_ones() {
    let Some(pg) = TestPostgres::create().await else { return };
    let mut config = StoreConfig::from_url(pg.url()).unwrap();
    config.turn_lease = Duration::from_secs(1);
    let a = aomi_store::connect_with(&config).await.unwrap();
    let b = aomi_store::connect_with(&config).await.unwrap();
    assert!(a.is_shared() && b.is_shared());
    assert_ne!(a.instance_id(), b.instance_id());

    a.ensure_chat(new_chat("c1", Some(ALICE))).await.unwrap();
    a.put_message("c1", &ChatMessage::user_text("u1", "hello")).await.unwrap();
    a.begin_turn(&turn("t1", "c1", "a1")).await.unwrap();

    // B follows A's parts, woken by NOTIFY.
    let mut events = b.subscribe_turns().await.unwrap();
    a.append_turn_parts("t1", 0, &parts(2)).await.unwrap();
    event_for(&mut events, "t1").await;
    assert_eq!(b.turn_parts("t1", 0).await.unwrap(), parts(2));

    // While A's heartbeat is fresh, B cannot start a turn in the chat.
    a.heartbeat_turn("t1").await.unwrap();
    assert!(matches!(b.begin_turn(&turn("t2", "c1", "a2")).await, Err(StoreError::TurnRunning(_))));
    assert!(b.chat("c1").await.unwrap().unwrap().running);

    a.start_turn(&start_in("c3", "t3", "u3")).await.unwrap();

    // A stops sending heartbeats (it died): after the lease, B takes over.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.chat("c1").await.unwrap().unwrap().running);
    b.begin_turn(&turn("t2", "c1", "a2")).await.unwrap();
    event_for(&mut events, "t1").await;
    assert_eq!(b.turn("t1").await.unwrap().unwrap().state, TurnState::Interrupted);
    // A turn's start takes over too.
    b.start_turn(&start_in("c3", "t4", "u4")).await.unwrap();
    assert_eq!(b.turn("t3").await.unwrap().unwrap().state, TurnState::Interrupted);
    assert_eq!(b.running_turn("c3").await.unwrap().unwrap().id, "t4");
    let messages = b.messages("c1").await.unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages[1].is_incomplete() && messages[1].id == "a1");
    assert!(b.interrupt_stale_turns().await.unwrap().is_empty());
}
