//! Branches: an edited message sets the old line aside; switching swaps lines; nothing is lost.

use std::sync::Arc;

use aomi_core::ChatMessage;
use aomi_store::{NewTurn, Store, StoreError, TurnStart, TurnState};

use crate::{ALICE, addr, both, new_chat};

both!(an_edit_sets_the_old_line_aside_and_switching_brings_it_back, a_branch_goes_back_only_after_its_parent);

/// One whole turn: the user's message (replacing `replaces`, if any) and the answer.
async fn exchange(store: &Arc<dyn Store>, chat: &str, user: &str, text: &str, replaces: Option<&str>) {
    let turn_id = format!("t-{user}");
    let answer_id = format!("a-{user}");
    let start = TurnStart {
        chat: new_chat(chat, Some(ALICE)),
        turn: NewTurn { id: turn_id.clone(), chat_id: chat.into(), message_id: answer_id.clone() },
        message: Some(ChatMessage::user_text(user, text)),
        replaces: replaces.map(str::to_owned),
        max_messages: None,
    };
    store.start_turn(&start).await.unwrap();
    let mut answer = ChatMessage::assistant(answer_id);
    answer.parts.push(aomi_core::MessagePart::text(format!("answer to {text}")));
    store.put_message(chat, &answer).await.unwrap();
    store.end_turn(&turn_id, TurnState::Finished).await.unwrap();
}

async fn line(store: &Arc<dyn Store>, chat: &str) -> Vec<String> {
    store.messages(chat).await.unwrap().into_iter().map(|m| m.id).collect()
}

async fn an_edit_sets_the_old_line_aside_and_switching_brings_it_back(store: Arc<dyn Store>) {
    exchange(&store, "c", "u1", "first question", None).await;
    exchange(&store, "c", "u2", "second question", None).await;
    assert_eq!(line(&store, "c").await, ["u1", "a-u1", "u2", "a-u2"]);
    assert!(store.branches("c").await.unwrap().is_empty());

    // The second question, edited: the old one and its answer are set aside after a-u1.
    exchange(&store, "c", "u2b", "second question, better", Some("u2")).await;
    assert_eq!(line(&store, "c").await, ["u1", "a-u1", "u2b", "a-u2b"]);
    let branches = store.branches("c").await.unwrap();
    assert_eq!(branches.len(), 1);
    let old = &branches[0];
    assert_eq!((old.parent_id.as_deref(), old.first_message_id.as_str(), old.messages), (Some("a-u1"), "u2", 2));
    let forks = store.forks("c").await.unwrap();
    assert_eq!(forks.len(), 1);
    assert_eq!(forks[0].message_id, "u2b");
    assert_eq!(forks[0].alternatives, [Some(old.id.clone()), None], "the old line was written first");
    // The model and search see only the line the chat is on.
    assert_eq!(store.message_count("c").await.unwrap(), 4);
    let hits =
        store.search(&aomi_store::SearchQuery { owner: addr(ALICE), text: "better".into(), limit: 10 }).await.unwrap();
    let mut found: Vec<_> = hits.iter().map(|h| h.message_id.as_str()).collect();
    found.sort_unstable();
    assert_eq!(found, ["a-u2b", "u2b"]);

    // Back to the old line: the edit becomes the branch, whole, and search follows.
    store.switch_branch("c", &old.id).await.unwrap();
    assert_eq!(line(&store, "c").await, ["u1", "a-u1", "u2", "a-u2"]);
    let messages = store.messages("c").await.unwrap();
    assert_eq!(messages[3].text(), "answer to second question");
    let branches = store.branches("c").await.unwrap();
    assert_eq!(branches.len(), 1);
    assert_eq!((branches[0].first_message_id.as_str(), branches[0].messages), ("u2b", 2));
    let forks = store.forks("c").await.unwrap();
    assert_eq!(forks[0].message_id, "u2");
    assert_eq!(forks[0].alternatives, [None, Some(branches[0].id.clone())]);
    let hits =
        store.search(&aomi_store::SearchQuery { owner: addr(ALICE), text: "better".into(), limit: 10 }).await.unwrap();
    assert!(hits.is_empty(), "{hits:?}");

    // The chat goes on from the restored line; the first message can be edited too.
    exchange(&store, "c", "u3", "third question", None).await;
    exchange(&store, "c", "u1b", "first question again", Some("u1")).await;
    assert_eq!(line(&store, "c").await, ["u1b", "a-u1b"]);
    let branches = store.branches("c").await.unwrap();
    let at_start: Vec<_> = branches.iter().filter(|b| b.parent_id.is_none()).collect();
    assert_eq!(at_start.len(), 1);
    assert_eq!(at_start[0].messages, 6);
    // The fork after a-u1 waits with its parent: only the fork at the start is listed.
    let forks = store.forks("c").await.unwrap();
    assert_eq!(forks.len(), 1);
    assert_eq!((forks[0].message_id.as_str(), forks[0].alternatives.len()), ("u1b", 2));

    // An unknown branch, and a message that is not a user message of the line, are refused.
    assert!(matches!(store.switch_branch("c", "br_nope").await, Err(StoreError::BranchNotFound(_))));
    let start = TurnStart {
        chat: new_chat("c", Some(ALICE)),
        turn: NewTurn { id: "t-x".into(), chat_id: "c".into(), message_id: "a-x".into() },
        message: Some(ChatMessage::user_text("ux", "x")),
        replaces: Some("a-u1b".into()),
        max_messages: None,
    };
    assert!(matches!(store.start_turn(&start).await, Err(StoreError::InvalidInput(_))));
    assert_eq!(line(&store, "c").await, ["u1b", "a-u1b"], "a refused turn changes nothing");

    // Deleting the chat deletes its branches.
    store.delete_chat("c").await.unwrap();
    assert!(store.branches("c").await.unwrap().is_empty());
}

async fn a_branch_goes_back_only_after_its_parent(store: Arc<dyn Store>) {
    exchange(&store, "d", "u1", "one", None).await;
    exchange(&store, "d", "u2", "two", None).await;
    // u2 edited (branch A: u2, a-u2 after a-u1), then u1 edited (branch B: the whole line).
    exchange(&store, "d", "u2b", "two again", Some("u2")).await;
    exchange(&store, "d", "u1b", "one again", Some("u1")).await;
    let branches = store.branches("d").await.unwrap();
    let a = branches.iter().find(|b| b.first_message_id == "u2").unwrap().id.clone();
    let b = branches.iter().find(|b| b.first_message_id == "u1").unwrap().id.clone();
    // A follows a-u1, which is set aside with B: it cannot come back before B does.
    assert!(matches!(store.switch_branch("d", &a).await, Err(StoreError::InvalidInput(_))));
    store.switch_branch("d", &b).await.unwrap();
    assert_eq!(line(&store, "d").await, ["u1", "a-u1", "u2b", "a-u2b"]);
    store.switch_branch("d", &a).await.unwrap();
    assert_eq!(line(&store, "d").await, ["u1", "a-u1", "u2", "a-u2"]);
    // Every message written is still somewhere: 4 on the line, the rest in branches.
    let set_aside: u64 = store.branches("d").await.unwrap().iter().map(|b| b.messages).sum();
    assert_eq!(set_aside, 4, "u2b, a-u2b, u1b, a-u1b");

    // No switch while a turn runs.
    store.begin_turn(&NewTurn { id: "t-run".into(), chat_id: "d".into(), message_id: "a-run".into() }).await.unwrap();
    let any = store.branches("d").await.unwrap()[0].id.clone();
    assert!(matches!(store.switch_branch("d", &any).await, Err(StoreError::TurnRunning(_))));
}
