//! Re-attaching to a running turn.

use std::time::Duration;

use aomi_core::{ChatMessage, MessageAssembler, UiChunk};
use aomi_testkit::{Reply, Script, Timing};
use eventsource_stream::Eventsource;
use futures::StreamExt;

use crate::common::*;

#[tokio::test]
async fn a_client_that_drops_mid_turn_gets_every_part_on_reconnect() {
    let answer = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
    let script = Script::new().then(Reply::text(answer)).timing(Timing {
        tokens_per_second: Some(40.0),
        chars_per_token: 4,
        ..Timing::default()
    });
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let chat_id = new_chat_id();

    // Read a few parts, then drop the connection.
    let response = server.post(&user_body(&chat_id, "count")).await;
    let mut events = response.bytes_stream().eventsource();
    let mut first: Vec<UiChunk> = Vec::new();
    while first.len() < 5 {
        let event = events.next().await.unwrap().unwrap();
        first.push(serde_json::from_str(&event.data).unwrap());
    }
    drop(events);

    let resumed = server.http.get(format!("{}/api/chat/{chat_id}/stream", server.url)).send().await.unwrap();
    assert_eq!(resumed.status(), 200, "the turn is still running");
    let all = read_stream(resumed).await;
    assert_eq!(&all[..5], &first[..], "the resumed stream replays from the first part");
    assert_eq!(text_of(&all), answer, "no text missing or doubled");

    // What the reconnected client assembled is what the server stored.
    let stored = server.messages(&chat_id).await.pop().unwrap();
    let mut assembler = MessageAssembler::new(ChatMessage::assistant(stored.id.clone()));
    for part in &all {
        assembler.apply(part);
    }
    assert_eq!(assembler.message().text(), stored.text());

    // Nothing runs now: the resume route answers 204.
    let idle = server.http.get(format!("{}/api/chat/{chat_id}/stream", server.url)).send().await.unwrap();
    assert_eq!(idle.status(), 204);
}

#[tokio::test]
async fn a_turn_goes_on_when_its_client_disconnects() {
    let script = Script::new()
        .then(Reply::text("Finished without you."))
        .timing(Timing { ttft: Duration::from_millis(300), ..Timing::default() });
    let server = TestServer::start(script, aomi_llm::Provider::OpenAi).await;
    let chat_id = new_chat_id();
    let response = server.post(&user_body(&chat_id, "hello")).await;
    drop(response);
    // Wait until the turn has been stored (polling the history, no timing assumption).
    for _ in 0..200 {
        let chat = server.chat(&chat_id).await;
        if chat["running"] == false && chat["messages"].as_array().map(Vec::len) == Some(2) {
            let messages = server.messages(&chat_id).await;
            assert_eq!(messages[1].text(), "Finished without you.");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the turn never finished");
}

#[tokio::test]
async fn a_long_answer_is_stored_while_it_streams_not_only_at_its_end() {
    // 50 deltas at 20 a second: 2.5 s of one text block. The message is stored every second of
    // a block (a crash loses at most that), though deltas alone never wake the persister.
    let answer = "a".repeat(200);
    let script = Script::new().then(Reply::text(&answer)).timing(Timing {
        tokens_per_second: Some(20.0),
        chars_per_token: 4,
        ..Timing::default()
    });
    let server = TestServer::start(script, aomi_llm::Provider::OpenAi).await;
    let chat_id = new_chat_id();
    let response = server.post(&user_body(&chat_id, "a long one")).await;
    let reader = tokio::spawn(read_stream(response));
    let mut stored_mid_stream = None;
    while !reader.is_finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let messages = server.messages(&chat_id).await;
        let text = messages.iter().rev().find(|m| m.role == aomi_core::Role::Assistant).map(ChatMessage::text);
        if let Some(text) = text.filter(|text| !text.is_empty() && text.len() < answer.len()) {
            stored_mid_stream = Some(text);
            break;
        }
    }
    let stored_mid_stream = stored_mid_stream.expect("part of the answer was stored before its end");
    assert!(answer.starts_with(&stored_mid_stream), "{stored_mid_stream}");
    let parts = reader.await.unwrap();
    assert_eq!(text_of(&parts), answer);
    let stored = server.messages(&chat_id).await.pop().unwrap();
    assert_eq!(stored.text(), answer, "the whole answer is stored at the end");
}
