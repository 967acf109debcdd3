//! How long the writes a turn makes before its model call take when many turns start at once, on
//! a SQLite file. A benchmark: it prints figures and asserts only that every write landed.
//!
//! cargo test --release -p aomi-store --test it contention -- --ignored --nocapture

use std::sync::Arc;
use std::time::{Duration, Instant};

use aomi_core::ChatMessage;
use aomi_store::{NewTurn, Store, TurnStart, TurnState};

use crate::{Db, new_chat};

/// What the server does before it calls the model (read the chat, then one commit for the chat,
/// the claim and the user's message, then read the history), and after the answer.
async fn turn(store: Arc<dyn Store>, chat: String, n: usize) -> (Duration, Duration) {
    let started = Instant::now();
    let _ = store.chat(&chat).await.unwrap();
    let turn_id = format!("turn-{chat}-{n}");
    let message_id = format!("a-{n}");
    let start = TurnStart {
        chat: new_chat(&chat, None),
        turn: NewTurn { id: turn_id.clone(), chat_id: chat.clone(), message_id: message_id.clone() },
        message: Some(ChatMessage::user_text(format!("u-{n}"), "Question: tell me something.")),
        replaces: None,
        max_messages: None,
    };
    store.start_turn(&start).await.unwrap();
    let _ = store.messages(&chat).await.unwrap();
    let before_model = started.elapsed();
    let started = Instant::now();
    let mut answer = ChatMessage::assistant(message_id);
    answer.parts.push(aomi_core::MessagePart::text("Here is the answer you asked for."));
    store.put_message(&chat, &answer).await.unwrap();
    store.end_turn(&turn_id, TurnState::Finished).await.unwrap();
    (before_model, started.elapsed())
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms", at(0.5), at(0.95), at(1.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn turn_writes_under_contention() {
    let db = Db::sqlite().await;
    for users in [1usize, 10, 100] {
        for round in 0..3 {
            let started = Instant::now();
            let tasks = (0..users).map(|u| tokio::spawn(turn(db.store.clone(), format!("c{users}-{u}"), round)));
            let results: Vec<(Duration, Duration)> = join(tasks).await;
            let wall = started.elapsed();
            let before: Vec<Duration> = results.iter().map(|r| r.0).collect();
            let after: Vec<Duration> = results.iter().map(|r| r.1).collect();
            println!(
                "{users:>3} users, round {round}: before the model {}; after the answer {}; wall {:.1} ms",
                stats(before),
                stats(after),
                wall.as_secs_f64() * 1000.0
            );
        }
        for u in 0..users {
            assert_eq!(db.store.messages(&format!("c{users}-{u}")).await.unwrap().len(), 6);
        }
    }
}

async fn join<T: Send + 'static>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        out.push(task.await.unwrap());
    }
    out
}
