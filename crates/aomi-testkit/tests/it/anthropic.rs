//! The Anthropic Messages wire over HTTP.

use std::time::Duration;

use aomi_testkit::{Reply, Script, ScriptedCall, StubModel, Timing};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::{PATIENCE, anthropic_blocks, anthropic_request, events, post};

fn messages_url(stub: &StubModel) -> String {
    format!("{}/v1/messages", stub.anthropic_base_url())
}

const LONG_TEXT: &str = "The quick brown fox jumps over the lazy dog; ünïcödé survives chunking too.";

#[tokio::test]
async fn streamed_text_reassembles() {
    let stub = StubModel::start(Script::new().then(Reply::text(LONG_TEXT))).await.unwrap();
    let events = events(post(&messages_url(&stub), &anthropic_request("hi", true)).await).await;
    let (blocks, stop_reason) = anthropic_blocks(&events);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].kind, "text");
    assert_eq!(blocks[0].text, LONG_TEXT);
    assert!(blocks[0].deltas > 5, "text arrives in chunks: {}", blocks[0].deltas);
    assert_eq!(stop_reason, "end_turn");
    let start: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(start["message"]["model"], "claude-stub");
    assert!(start["message"]["id"].as_str().unwrap().starts_with("msg_"));
}

#[tokio::test]
async fn streamed_tool_calls_reassemble() {
    let first = json!({"address": "0x00000000000000000000000000000000000000aa", "chain_id": 1});
    let second = json!({"symbol": "ETH", "nested": {"list": [1, 2.5, "x"], "flag": true}});
    let reply = Reply::ToolCalls {
        text: Some("Let me check.".into()),
        calls: vec![ScriptedCall::new("get_balance", first.clone()), ScriptedCall::new("get_price", second.clone())],
    };
    let stub = StubModel::start(Script::new().then(reply.clone()).then(reply)).await.unwrap();
    let events = events(post(&messages_url(&stub), &anthropic_request("balance?", true)).await).await;
    let (blocks, stop_reason) = anthropic_blocks(&events);
    assert_eq!(stop_reason, "tool_use");
    assert_eq!(blocks.len(), 3);
    assert_eq!((blocks[0].kind.as_str(), blocks[0].text.as_str()), ("text", "Let me check."));
    for (block, (name, arguments)) in blocks[1..].iter().zip([("get_balance", &first), ("get_price", &second)]) {
        assert_eq!(block.kind, "tool_use");
        assert_eq!(block.name, name);
        assert!(block.id.starts_with("toolu_"), "{}", block.id);
        assert!(block.deltas >= 2, "arguments in several pieces");
        assert_eq!(&serde_json::from_str::<Value>(&block.json).unwrap(), arguments);
    }
    assert_ne!(blocks[1].id, blocks[2].id);
    // Ids stay unique across requests.
    let again = events_of(&stub).await;
    let (later, _) = anthropic_blocks(&again);
    assert!(later[1..].iter().all(|block| block.id != blocks[1].id && block.id != blocks[2].id));
}

async fn events_of(stub: &StubModel) -> Vec<eventsource_stream::Event> {
    events(post(&messages_url(stub), &anthropic_request("again", true)).await).await
}

#[tokio::test]
async fn whole_message_when_not_streamed() {
    let stub = StubModel::start(Script::new().then(Reply::text("plain answer")).then(Reply::text_then_tool_call(
        "One moment.",
        "lookup",
        json!({"q": "aomi"}),
    )))
    .await
    .unwrap();
    let response = post(&messages_url(&stub), &anthropic_request("hi", false)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], json!([{"type": "text", "text": "plain answer"}]));
    assert_eq!(message["stop_reason"], "end_turn");
    assert!(message["stop_sequence"].is_null());
    assert!(message["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(message["usage"]["output_tokens"].as_u64().unwrap() > 0);

    let message: Value = post(&messages_url(&stub), &anthropic_request("hi", false)).await.json().await.unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][0], json!({"type": "text", "text": "One moment."}));
    assert_eq!(message["content"][1]["type"], "tool_use");
    assert_eq!(message["content"][1]["name"], "lookup");
    assert_eq!(message["content"][1]["input"], json!({"q": "aomi"}));
    assert!(message["content"][1]["id"].as_str().unwrap().starts_with("toolu_"));
}

#[tokio::test]
async fn rate_limit_error_shape() {
    let stub = StubModel::start(Script::new().then(Reply::error(429, "slow down")).then(Reply::error(500, "boom")))
        .await
        .unwrap();
    let response = post(&messages_url(&stub), &anthropic_request("hi", true)).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"], json!({"type": "rate_limit_error", "message": "slow down"}));

    let response = post(&messages_url(&stub), &anthropic_request("hi", true)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "api_error");
    assert_eq!(body["error"]["message"], "boom");
}

#[tokio::test]
async fn malformed_stream_is_not_valid_events() {
    let stub = StubModel::start(Script::new().then(Reply::Malformed)).await.unwrap();
    let response = post(&messages_url(&stub), &anthropic_request("hi", true)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events = tokio::time::timeout(PATIENCE, response.bytes_stream().eventsource().collect::<Vec<_>>())
        .await
        .expect("the malformed body ends");
    assert!(!events.is_empty());
    let broken = events.iter().any(|event| match event {
        Ok(event) => serde_json::from_str::<Value>(&event.data).is_err(),
        Err(_) => true,
    });
    assert!(broken, "some event is not valid JSON: {events:?}");
}

#[tokio::test]
async fn stall_sends_headers_then_nothing() {
    let stub = StubModel::start(Script::new().then(Reply::Stall)).await.unwrap();
    let response = post(&messages_url(&stub), &anthropic_request("hi", true)).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut seen = Vec::new();
    // Whatever arrives at once (at most the opening event), then silence.
    loop {
        match tokio::time::timeout(Duration::from_millis(300), body.next()).await {
            Ok(Some(chunk)) => seen.extend_from_slice(&chunk.unwrap()),
            Ok(None) => panic!("a stalled stream must stay open"),
            Err(_) => break,
        }
    }
    let seen = String::from_utf8(seen).unwrap();
    assert!(!seen.contains("content_block"), "no content after a stall: {seen}");
    assert!(!seen.contains("message_stop"));
    // Still nothing, and the connection is still open.
    assert!(tokio::time::timeout(Duration::from_millis(300), body.next()).await.is_err(), "no further bytes");
    // Dropping the server ends the stream.
    drop(stub);
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends when the server stops");
}

#[tokio::test]
async fn base_url_with_v1_still_reaches_messages() {
    // rig strips a trailing /v1 from an Anthropic base URL; the stub serves
    // the one real path.
    let stub = StubModel::start(Script::new().then(Reply::text("ok")).timing(Timing::new())).await.unwrap();
    let response = post(&format!("{}/v1/messages", stub.url()), &anthropic_request("hi", false)).await;
    assert_eq!(response.status(), 200);
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].protocol, aomi_testkit::Protocol::Anthropic);
    assert_eq!(requests[0].header("X-Api-Key"), Some("test-key"));
}
