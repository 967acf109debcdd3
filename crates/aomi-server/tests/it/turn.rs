//! A whole turn: a tool call, its result, the answer; then the history.

use aomi_agent::NO_MODEL_MESSAGE;
use aomi_core::{MessagePart, Role, ToolState, UiChunk};
use aomi_testkit::{Reply, Script};
use serde_json::json;

use crate::common::*;

fn tool_then_text() -> Script {
    Script::new().then(Reply::tool_call("echo", json!({ "text": "hello" }))).then(Reply::text("The tool said hello."))
}

#[tokio::test]
async fn a_turn_calls_a_tool_then_answers_and_is_stored() {
    for provider in PROVIDERS {
        let server = TestServer::start(tool_then_text(), provider).await;
        let chat_id = new_chat_id();
        let parts = server.turn(&chat_id, "please echo hello").await;

        let kinds: Vec<String> =
            kinds(&parts).into_iter().filter(|k| k != "tool-input-delta" && k != "data-tool-progress").collect();
        assert_eq!(
            kinds,
            [
                "start",
                "start-step",
                "tool-input-start",
                "tool-input-available",
                "tool-output-available",
                "finish-step",
                "start-step",
                "text-start",
                "text-delta",
                "text-end",
                "finish-step",
                "message-metadata",
                "finish"
            ],
            "{provider:?}"
        );
        assert_eq!(text_of(&parts), "The tool said hello.");
        let input = parts.iter().find_map(|p| match p {
            UiChunk::ToolInputAvailable { tool_name, input, .. } if tool_name == "echo" => Some(input.clone()),
            _ => None,
        });
        assert_eq!(input, Some(json!({ "text": "hello" })));
        let output = parts.iter().find_map(|p| match p {
            UiChunk::ToolOutputAvailable { output, .. } => Some(output.clone()),
            _ => None,
        });
        assert_eq!(output.unwrap()["data"]["echo"], "hello");
        assert!(
            parts
                .iter()
                .any(|p| matches!(p, UiChunk::Data { name, transient: Some(true), .. } if name == "tool-progress")),
            "the tool's progress is streamed"
        );
        assert!(matches!(
            parts.last(),
            Some(UiChunk::Finish { finish_reason: Some(aomi_core::FinishReason::Stop), .. })
        ));

        // The model saw the tool's result on its second call.
        let requests = server.stub.requests();
        assert_eq!(requests.len(), 2);
        assert!(requests[1].body.to_string().contains("hello"));

        let usage = parts.iter().find_map(|p| match p {
            UiChunk::MessageMetadata { message_metadata } => Some(message_metadata["usage"].clone()),
            _ => None,
        });
        let usage = usage.expect("the turn reports its token counts");
        assert!(usage["inputTokens"].as_u64().unwrap() > 0 && usage["outputTokens"].as_u64().unwrap() > 0, "{usage}");

        let messages = server.messages(&chat_id).await;
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert_eq!(messages[1].metadata.as_ref().map(|m| m["usage"].clone()), Some(usage), "the usage is stored");
        assert_eq!(messages[0].role, Role::User);
        assert_eq!(messages[0].text(), "please echo hello");
        let answer = &messages[1];
        assert_eq!(answer.role, Role::Assistant);
        assert!(!answer.is_incomplete());
        let tool = answer.tool_parts().next().expect("a tool part");
        assert_eq!(tool.tool_name, "echo");
        assert_eq!(tool.state, ToolState::OutputAvailable);
        assert_eq!(tool.input, json!({ "text": "hello" }));
        assert_eq!(tool.output.as_ref().unwrap()["data"]["echo"], "hello");
        assert_eq!(answer.text(), "The tool said hello.");
        assert_eq!(answer.parts.iter().filter(|p| matches!(p, MessagePart::StepStart)).count(), 2);
    }
}

#[tokio::test]
async fn the_server_keeps_history_so_a_body_carries_only_the_new_message() {
    for provider in PROVIDERS {
        let script = Script::new().then(Reply::text("First answer.")).then(Reply::text("Second answer."));
        let server = TestServer::start(script, provider).await;
        let chat_id = new_chat_id();
        server.turn(&chat_id, "first question").await;
        let parts = server.turn(&chat_id, "second question").await;
        assert_eq!(text_of(&parts), "Second answer.");
        let second = server.stub.requests()[1].body.to_string();
        for earlier in ["first question", "First answer.", "second question"] {
            assert!(second.contains(earlier), "{provider:?}: the second model call lacks {earlier:?}: {second}");
        }
        assert_eq!(server.messages(&chat_id).await.len(), 4);
    }
}

#[tokio::test]
async fn the_step_limit_ends_the_turn_with_a_visible_message() {
    let script = Script::new().rule(aomi_testkit::Match::Always, Reply::tool_call("echo", json!({ "text": "again" })));
    let mut options = Options::new(aomi_llm::Provider::Anthropic);
    options.max_steps = 2;
    let server = TestServer::start_with(script, options).await;
    let chat_id = new_chat_id();
    let parts = server.turn(&chat_id, "loop forever").await;
    assert_eq!(server.stub.requests().len(), 2);
    assert!(text_of(&parts).contains("stopped after 2 steps"), "{}", text_of(&parts));
    assert!(matches!(parts.last(), Some(UiChunk::Finish { finish_reason: Some(aomi_core::FinishReason::Other), .. })));
}

#[tokio::test]
async fn without_a_model_a_turn_explains_how_to_configure_one() {
    let mut options = Options::new(aomi_llm::Provider::Anthropic);
    options.with_model = false;
    let server = TestServer::start_with(Script::new(), options).await;
    let chat_id = new_chat_id();
    let parts = server.turn(&chat_id, "hello?").await;
    assert_eq!(text_of(&parts), NO_MODEL_MESSAGE);
    assert!(text_of(&parts).contains("ANTHROPIC_API_KEY"));
    assert!(server.stub.requests().is_empty());
    assert_eq!(server.messages(&chat_id).await[1].text(), NO_MODEL_MESSAGE);
}

#[tokio::test]
async fn the_ai_sdk_default_body_with_all_messages_is_accepted() {
    let server = TestServer::start(Script::new().then(Reply::text("Hi there.")), aomi_llm::Provider::OpenAi).await;
    let chat_id = new_chat_id();
    let body = json!({
        "id": chat_id,
        "trigger": "submit-message",
        "messages": [{ "id": "m1", "role": "user", "parts": [{ "type": "text", "text": "hello" }] }]
    });
    let response = server.post(&body).await;
    assert_eq!(response.status(), 200);
    let parts = read_stream(response).await;
    assert_eq!(text_of(&parts), "Hi there.");
    assert_eq!(server.messages(&chat_id).await[0].id, "m1");
}
