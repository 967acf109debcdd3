//! Failures of the model and of tools: each turn ends visibly, the stream ends, the chat goes on.

use std::time::Duration;

use aomi_core::{FinishReason, UiChunk};
use aomi_testkit::{Reply, Script, Timing};
use serde_json::json;

use crate::common::*;

/// After a failed turn, the same chat takes a new one.
async fn next_turn_works(server: &TestServer, chat_id: &str) {
    server.stub.set_script(Script::new().then(Reply::text("Back to normal.")));
    let parts = server.turn(chat_id, "are you there?").await;
    assert_eq!(text_of(&parts), "Back to normal.");
    assert!(errors_of(&parts).is_empty());
}

fn assert_failed_turn(parts: &[UiChunk], needle: &str) {
    let errors = errors_of(parts);
    assert_eq!(errors.len(), 1, "{parts:?}");
    assert!(errors[0].to_lowercase().contains(needle), "{errors:?} lacks {needle:?}");
    assert!(matches!(parts.last(), Some(UiChunk::Finish { finish_reason: Some(FinishReason::Error), .. })));
}

#[tokio::test]
async fn a_provider_500_ends_the_turn_with_a_visible_error() {
    for provider in PROVIDERS {
        let script = Script::new().fallback(Reply::error(500, "the model is on fire"));
        let server = TestServer::start(script, provider).await;
        let chat_id = new_chat_id();
        let parts = server.turn(&chat_id, "hello").await;
        assert_failed_turn(&parts, "500");
        let messages = server.messages(&chat_id).await;
        assert_eq!(messages.len(), 2, "the user message and the failed answer are stored");
        assert!(messages[1].is_incomplete());
        assert!(
            messages[1].parts.iter().any(|p| matches!(p, aomi_core::MessagePart::Data { name, .. } if name == "error"))
        );
        next_turn_works(&server, &chat_id).await;
    }
}

#[tokio::test]
async fn a_429_then_success_recovers_without_an_error() {
    for provider in PROVIDERS {
        let script = Script::new().then(Reply::error(429, "slow down")).then(Reply::text("Recovered."));
        let server = TestServer::start(script, provider).await;
        let parts = server.turn(&new_chat_id(), "hello").await;
        assert!(errors_of(&parts).is_empty(), "{parts:?}");
        assert_eq!(text_of(&parts), "Recovered.");
        assert_eq!(server.stub.requests().len(), 2, "one retry");
    }
}

#[tokio::test]
async fn a_malformed_stream_ends_the_turn_with_a_visible_error() {
    for provider in PROVIDERS {
        let server = TestServer::start(Script::new().then(Reply::Malformed), provider).await;
        let chat_id = new_chat_id();
        let parts = server.turn(&chat_id, "hello").await;
        assert_eq!(errors_of(&parts).len(), 1, "{provider:?}: {parts:?}");
        next_turn_works(&server, &chat_id).await;
    }
}

#[tokio::test]
async fn a_stalled_model_times_out_and_the_chat_goes_on() {
    for provider in PROVIDERS {
        let mut options = Options::new(provider);
        options.idle_timeout = Duration::from_millis(400);
        let server = TestServer::start_with(Script::new().then(Reply::Stall), options).await;
        let chat_id = new_chat_id();
        let parts = server.turn(&chat_id, "hello").await;
        assert_failed_turn(&parts, "sent nothing");
        next_turn_works(&server, &chat_id).await;
    }
}

#[tokio::test]
async fn a_panicking_tool_becomes_an_error_result_the_model_explains() {
    for provider in PROVIDERS {
        let script =
            Script::new().then(Reply::tool_call("explode", json!({}))).then(Reply::text("The tool crashed, sorry."));
        let server = TestServer::start(script, provider).await;
        let chat_id = new_chat_id();
        let parts = server.turn(&chat_id, "blow up").await;
        let tool_errors = tool_errors_of(&parts);
        assert_eq!(tool_errors.len(), 1);
        assert!(tool_errors[0].contains("crashed"), "{tool_errors:?}");
        assert_eq!(text_of(&parts), "The tool crashed, sorry.");
        assert!(errors_of(&parts).is_empty());
        // The model was told.
        assert!(server.stub.requests()[1].body.to_string().contains("crashed"));
        next_turn_works(&server, &chat_id).await;
    }
}

#[tokio::test]
async fn a_slow_tool_times_out_and_unknown_tools_fail_cleanly() {
    let script = Script::new()
        .then(Reply::ToolCalls {
            text: Some("Let me try.".into()),
            calls: vec![
                aomi_testkit::ScriptedCall { name: "slow".into(), arguments: json!({ "ms": 5000 }) },
                aomi_testkit::ScriptedCall { name: "no_such_tool".into(), arguments: json!({}) },
                aomi_testkit::ScriptedCall { name: "echo".into(), arguments: json!({ "text": "still fine" }) },
            ],
        })
        .then(Reply::text("Two tools failed."));
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let chat_id = new_chat_id();
    let parts = server.turn(&chat_id, "try three tools").await;
    let tool_errors = tool_errors_of(&parts);
    assert_eq!(tool_errors.len(), 2, "{tool_errors:?}");
    assert!(tool_errors.iter().any(|e| e.contains("timed out")), "{tool_errors:?}");
    assert!(tool_errors.iter().any(|e| e.contains("unknown tool")), "{tool_errors:?}");
    let ok = parts.iter().filter(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })).count();
    assert_eq!(ok, 1, "the good call still answers");
    assert_eq!(text_of(&parts), "Let me try.Two tools failed.");
}

#[tokio::test]
async fn a_second_message_during_a_turn_gets_409_and_the_chat_works_after() {
    let script = Script::new()
        .then(Reply::text("A slow answer."))
        .timing(Timing { ttft: Duration::from_millis(800), ..Timing::default() });
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let chat_id = new_chat_id();
    let first = server.post(&user_body(&chat_id, "first")).await;
    assert_eq!(first.status(), 200);
    let second = server.post(&user_body(&chat_id, "second")).await;
    assert_eq!(second.status(), 409);
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "turn_running");
    assert!(body["error"]["message"].as_str().unwrap().contains("already running"));
    let parts = read_stream(first).await;
    assert_eq!(text_of(&parts), "A slow answer.");
    server.stub.set_script(Script::new().then(Reply::text("Now I can answer.")));
    assert_eq!(text_of(&server.turn(&chat_id, "third").await), "Now I can answer.");
    // The refused message was not stored.
    let texts: Vec<String> = server.messages(&chat_id).await.iter().map(|m| m.text()).collect();
    assert!(!texts.contains(&"second".to_owned()), "{texts:?}");
}
