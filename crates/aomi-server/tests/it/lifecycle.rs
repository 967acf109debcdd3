//! Shutdown: running turns end with a visible "restarting" part, are stored as ended, and the
//! shutdown returns only once they (and every other task of the backend) have.

use aomi_core::{MessagePart, UiChunk};
use aomi_store::TurnState;
use aomi_testkit::{Reply, Script, Timing};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_shutdown_ends_running_turns_visibly_and_waits_for_them() {
    // About 25 seconds of text: only the shutdown ends it.
    let script = Script::new().then(Reply::text("a long answer ".repeat(100))).timing(Timing {
        tokens_per_second: Some(20.0),
        chars_per_token: 4,
        ..Timing::default()
    });
    let server = TestServer::start(script, aomi_llm::Provider::Anthropic).await;
    let chat_id = new_chat_id();
    let mut reader = PartReader::new(server.post(&user_body(&chat_id, "talk")).await);
    reader.until(|p| matches!(p, UiChunk::TextDelta { .. })).await;
    let turn = server.store.running_turn(&chat_id).await.unwrap().expect("the turn runs");

    server.backend.shutdown().await;

    // Nothing read from the stream since: what follows was done before `shutdown` returned.
    assert!(server.backend.tasks().is_empty(), "every task of the backend has ended");
    assert!(server.store.running_turn(&chat_id).await.unwrap().is_none(), "the chat is not left running");
    let ended = server.store.turn(&turn.id).await.unwrap().unwrap();
    assert_eq!(ended.state, TurnState::Interrupted);
    assert!(ended.ended_at.is_some());
    let stored = server.store.messages(&chat_id).await.unwrap().pop().unwrap();
    assert_eq!(stored.metadata, Some(json!({ "incomplete": true })));
    let Some(MessagePart::Data { name, data, .. }) = stored.parts.last() else {
        panic!("the stored answer ends with a data part: {:?}", stored.parts)
    };
    assert_eq!(name, "error");
    let said = data["message"].as_str().unwrap();
    assert!(said.starts_with("aomi is restarting"), "{said}");

    // The client saw the same part, then the end of the stream.
    let parts = reader.rest().await;
    assert_eq!(errors_of(&parts), [said.to_owned()]);
    assert!(matches!(parts.last(), Some(UiChunk::Finish { .. })));
}

#[tokio::test]
async fn a_draining_instance_is_not_ready_and_refuses_new_turns() {
    let server = TestServer::start(Script::new().then(Reply::text("hello")), aomi_llm::Provider::Anthropic).await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);

    server.backend.shutdown().await;

    // The HTTP server still answers (axum closes it after the drain): a load balancer sees the
    // instance leave, and a new turn is refused before anything is stored.
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "draining", "{body}");
    let chat_id = new_chat_id();
    let refused = server.post(&user_body(&chat_id, "hello")).await;
    assert_eq!(refused.status(), 503);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "shutting_down", "{body}");
    assert!(server.store.messages(&chat_id).await.unwrap().is_empty(), "nothing stored for a refused turn");
    assert_eq!(server.get("/healthz").await.status(), 200, "the process itself still answers");
}
