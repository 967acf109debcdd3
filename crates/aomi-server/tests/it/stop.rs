//! POST /api/chat/{id}/stop: a user stops a running turn; the stream ends, the answer so far is
//! kept, the chat is free at once.

use std::time::Duration;

use aomi_core::{MessagePart, ToolState, UiChunk};
use aomi_testkit::tools::SlowTool;
use aomi_testkit::{Reply, Script, Timing};
use aomi_tools::ToolRegistry;
use serde_json::{Value, json};

use crate::common::*;

const ALICE: &str = "0xa11ce00000000000000000000000000000000001";
const BOB: &str = "0xb0b0000000000000000000000000000000000002";

impl TestServer {
    async fn stop(&self, chat_id: &str, owner: Option<&str>) -> (u16, Value) {
        let query = owner.map(|owner| format!("?owner={owner}")).unwrap_or_default();
        let response =
            self.http.post(format!("{}/api/chat/{chat_id}/stop{query}", self.url)).send().await.expect("POST stop");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }
}

/// The end of a stopped turn's stream: the marker, then `abort`; no error and no finish.
fn assert_stopped_end(parts: &[UiChunk]) {
    let n = parts.len();
    assert!(
        matches!(&parts[n - 1], UiChunk::Abort { reason: Some(reason) } if reason.contains("stopped")),
        "{parts:?}"
    );
    assert_eq!(
        parts[n - 2],
        UiChunk::MessageMetadata { message_metadata: json!({ "incomplete": true, "stopped": true }) }
    );
    assert!(errors_of(parts).is_empty(), "a stop is no error: {parts:?}");
    assert!(!parts.iter().any(|p| matches!(p, UiChunk::Finish { .. })), "{parts:?}");
}

#[tokio::test]
async fn a_stop_mid_text_ends_the_stream_keeps_the_partial_answer_and_frees_the_chat() {
    for provider in PROVIDERS {
        let answer = "one two three four five six seven eight nine ten ".repeat(40);
        // About 500 chunks at 20 a second: the turn runs far longer than the test.
        let script = Script::new()
            .then(Reply::text(answer.clone()))
            .then(Reply::text("Fresh answer."))
            .timing(Timing { tokens_per_second: Some(20.0), chars_per_token: 4, ..Timing::default() });
        let server = TestServer::start(script, provider).await;
        let chat_id = new_chat_id();
        let response = server.post(&user_body_from(&chat_id, "count slowly", ALICE)).await;
        assert_eq!(response.status(), 200);
        let mut reader = PartReader::new(response);
        let mut parts = reader.until(|p| matches!(p, UiChunk::TextDelta { .. })).await;

        let (status, body) = server.stop(&chat_id, Some(ALICE)).await;
        assert_eq!((status, &body), (200, &json!({ "stopped": true })), "{provider:?}");
        parts.extend(reader.rest().await);
        assert_stopped_end(&parts);
        assert!(parts.iter().any(|p| matches!(p, UiChunk::TextEnd { .. })), "the open text block is closed");
        let said = text_of(&parts);
        assert!(!said.is_empty() && said.len() < answer.len() && answer.starts_with(&said), "{said:?}");

        // Stored: what was said, marked as stopped by the user.
        let messages = server.messages_of(&chat_id, ALICE).await;
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].text(), said);
        assert_eq!(messages[1].metadata, Some(json!({ "incomplete": true, "stopped": true })));

        // The chat takes the next message at once, and the model sees the partial answer.
        let next = server.post(&user_body_from(&chat_id, "go on", ALICE)).await;
        assert_eq!(next.status(), 200, "{provider:?}: the chat is free after a stop");
        assert_eq!(text_of(&read_stream(next).await), "Fresh answer.");
        assert!(server.stub.requests()[1].body.to_string().contains(said.trim_end()));
    }
}

#[tokio::test]
async fn a_stop_during_a_slow_tool_drops_the_tool() {
    // A tool that would run for an hour, with a timeout longer than that: only a stop ends it.
    let mut options = Options::new(aomi_llm::Provider::Anthropic);
    options.extra_tools = ToolRegistry::new().with(SlowTool { timeout: Duration::from_secs(7200) });
    let script = Script::new()
        .then(Reply::text_then_tool_call("Let me wait.", "slow", json!({ "ms": 3_600_000 })))
        .then(Reply::text("The model is never asked again."));
    let server = TestServer::start_with(script, options).await;
    let chat_id = new_chat_id();
    let response = server.post(&user_body(&chat_id, "wait an hour")).await;
    let mut reader = PartReader::new(response);
    let mut parts =
        reader.until(|p| matches!(p, UiChunk::ToolInputAvailable { tool_name, .. } if tool_name == "slow")).await;

    let (status, body) = server.stop(&chat_id, None).await;
    assert_eq!((status, body), (200, json!({ "stopped": true })));
    parts.extend(reader.rest().await);
    assert_stopped_end(&parts);
    assert_eq!(tool_errors_of(&parts), ["stopped by the user before it finished"]);
    assert_eq!(server.stub.requests().len(), 1, "the model is not called with a result");

    let messages = server.messages(&chat_id).await;
    let answer = &messages[1];
    assert_eq!(answer.text(), "Let me wait.");
    let tool = answer.tool_parts().next().expect("the tool call is stored");
    assert_eq!((tool.tool_name.as_str(), tool.state), ("slow", ToolState::OutputError));
    assert_eq!(tool.error_text.as_deref(), Some("stopped by the user before it finished"));
    assert_eq!(answer.metadata, Some(json!({ "incomplete": true, "stopped": true })));
    assert!(!server.chat(&chat_id).await["running"].as_bool().unwrap());
}

#[tokio::test]
async fn a_stop_when_nothing_runs_unknown_chats_and_other_wallets() {
    let script = Script::new()
        .then(Reply::text("Done already."))
        .then(Reply::text("A slow answer that nobody else may stop."))
        .timing(Timing { tokens_per_second: Some(20.0), chars_per_token: 4, ..Timing::default() });
    let server = TestServer::start(script, aomi_llm::Provider::OpenAi).await;

    // Nothing runs: not an error (a stop may race the turn's own end), and nothing changes.
    let chat_id = new_chat_id();
    let parts = read_stream(server.post(&user_body_from(&chat_id, "hi", ALICE)).await).await;
    assert_eq!(text_of(&parts), "Done already.");
    assert_eq!(server.stop(&chat_id, Some(ALICE)).await, (200, json!({ "stopped": false })));
    let metadata = server.messages_of(&chat_id, ALICE).await[1].metadata.clone().unwrap_or_default();
    assert!(metadata.get("stopped").is_none() && metadata.get("incomplete").is_none(), "{metadata}");

    let (status, body) = server.stop("no-such-chat", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(server.stop("bad%20id", None).await.0, 400);

    // Another wallet (or none) cannot stop Alice's turn; she can.
    let response = server.post(&user_body_from(&chat_id, "answer slowly", ALICE)).await;
    let mut reader = PartReader::new(response);
    let mut parts = reader.until(|p| matches!(p, UiChunk::TextDelta { .. })).await;
    for owner in [Some(BOB), None] {
        let (status, body) = server.stop(&chat_id, owner).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{owner:?}");
    }
    assert!(server.chat_running(&chat_id, ALICE).await, "the turn still runs");
    assert_eq!(server.stop(&chat_id, Some(ALICE)).await, (200, json!({ "stopped": true })));
    parts.extend(reader.rest().await);
    assert_stopped_end(&parts);
}

#[tokio::test]
async fn a_shutdown_is_not_a_stop() {
    let script = Script::new().then(Reply::text("a long answer ".repeat(50))).timing(Timing {
        tokens_per_second: Some(20.0),
        chars_per_token: 4,
        ..Timing::default()
    });
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let chat_id = new_chat_id();
    let mut reader = PartReader::new(server.post(&user_body(&chat_id, "talk")).await);
    reader.until(|p| matches!(p, UiChunk::TextDelta { .. })).await;
    server.backend.shutdown().await;
    let parts = reader.rest().await;
    assert_eq!(errors_of(&parts).len(), 1, "a shutdown is shown as an error: {parts:?}");
    assert!(matches!(parts.last(), Some(UiChunk::Finish { .. })));
    let stored = server.messages(&chat_id).await.pop().unwrap();
    assert_eq!(stored.metadata, Some(json!({ "incomplete": true })), "incomplete, not stopped by the user");
    assert!(matches!(stored.parts.last(), Some(MessagePart::Data { name, .. }) if name == "error"));
}

impl TestServer {
    async fn chat_running(&self, chat_id: &str, owner: &str) -> bool {
        let response = self.get(&format!("/api/chats/{chat_id}?owner={owner}")).await;
        let chat: Value = response.json().await.unwrap();
        chat["running"].as_bool().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_instance_running_a_turn_stops_it() {
    let Some(pg) = aomi_store::testing::TestPostgres::create().await else { return };
    let slow = Timing { tokens_per_second: Some(20.0), chars_per_token: 4, ..Timing::default() };
    let options = || {
        let mut options = Options::new(aomi_llm::Provider::Anthropic);
        options.database_url = Some(pg.url().to_owned());
        options
    };
    let a =
        TestServer::start_with(Script::new().then(Reply::text("a long answer ".repeat(50))).timing(slow), options())
            .await;
    let b = TestServer::start_with(Script::new().fallback(Reply::text("Next.")), options()).await;
    let chat_id = new_chat_id();
    let mut reader = PartReader::new(a.post(&user_body_from(&chat_id, "talk", ALICE)).await);
    let mut parts = reader.until(|p| matches!(p, UiChunk::TextDelta { .. })).await;

    let (status, body) = b.stop(&chat_id, Some(ALICE)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("turn_elsewhere")), "{body}");
    assert_eq!(a.stop(&chat_id, Some(ALICE)).await, (200, json!({ "stopped": true })));
    parts.extend(reader.rest().await);
    assert_stopped_end(&parts);
    // The other instance sees the chat free at once.
    let next = b.post(&user_body_from(&chat_id, "go on", ALICE)).await;
    assert_eq!(next.status(), 200);
    assert_eq!(text_of(&read_stream(next).await), "Next.");
}
