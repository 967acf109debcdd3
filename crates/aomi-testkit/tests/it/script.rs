//! Scripts over HTTP: rules, steps, fallback, recording, replacement.

use aomi_testkit::{EXHAUSTED_TEXT, Match, Protocol, Reply, Script, StubModel};
use serde_json::{Value, json};

use crate::common::{openai_request, post};

async fn anthropic_text(stub: &StubModel, body: &Value) -> String {
    let message: Value = post(&format!("{}/v1/messages", stub.url()), body).await.json().await.unwrap();
    message["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

async fn openai_text(stub: &StubModel, body: &Value) -> String {
    let completion: Value =
        post(&format!("{}/chat/completions", stub.openai_base_url()), body).await.json().await.unwrap();
    completion["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned()
}

fn anthropic_user(text: &str) -> Value {
    crate::common::anthropic_request(text, false)
}

#[tokio::test]
async fn rules_first_then_steps_in_order_then_fallback() {
    let stub = StubModel::start(
        Script::new()
            .then(Reply::text("step one"))
            .then(Reply::text("step two"))
            .rule(Match::LastUserContains("weather".into()), Reply::text("rule: sunny"))
            .rule(Match::LastUserContains("weath".into()), Reply::text("rule: shadowed")),
    )
    .await
    .unwrap();
    // Steps are shared by both protocols, one per request.
    assert_eq!(anthropic_text(&stub, &anthropic_user("hello")).await, "step one");
    assert_eq!(openai_text(&stub, &openai_request("what's the weather?", false)).await, "rule: sunny");
    assert_eq!(anthropic_text(&stub, &anthropic_user("weather again")).await, "rule: sunny");
    assert_eq!(openai_text(&stub, &openai_request("hello", false)).await, "step two");
    assert_eq!(anthropic_text(&stub, &anthropic_user("hello")).await, EXHAUSTED_TEXT);
    assert_eq!(openai_text(&stub, &openai_request("weather", false)).await, "rule: sunny");

    let protocols = stub.requests().iter().map(|request| request.protocol).collect::<Vec<_>>();
    use Protocol::{Anthropic, OpenAi};
    assert_eq!(protocols, vec![Anthropic, OpenAi, Anthropic, OpenAi, Anthropic, OpenAi]);
}

#[tokio::test]
async fn user_rule_does_not_fire_after_its_tool_result() {
    let stub = StubModel::start(
        Script::new()
            .rule(Match::LastUserContains("balance".into()), Reply::tool_call("get_balance", json!({})))
            .rule(Match::LastToolResultContains("1000 wei".into()), Reply::text("You hold 1000 wei."))
            .fallback(Reply::text("fallback")),
    )
    .await
    .unwrap();
    // Anthropic: the tool result comes back in a user message.
    let after_tool = json!({
        "model": "claude-stub", "max_tokens": 100,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "my balance?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_balance", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "1000 wei"}]}]}
        ]
    });
    assert_eq!(anthropic_text(&stub, &after_tool).await, "You hold 1000 wei.");
    // OpenAI: a role "tool" message, here with a result the rules ignore.
    let after_other_tool = json!({
        "model": "gpt-stub",
        "messages": [
            {"role": "user", "content": "my balance?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_balance", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "error: node down"}
        ]
    });
    assert_eq!(openai_text(&stub, &after_other_tool).await, "fallback");

    let requests = stub.requests();
    assert_eq!(requests[0].last_user_text.as_deref(), Some("my balance?"));
    assert_eq!(requests[0].last_tool_result.as_deref(), Some("1000 wei"));
    assert_eq!(requests[1].last_user_text.as_deref(), Some("my balance?"));
    assert_eq!(requests[1].last_tool_result.as_deref(), Some("error: node down"));
    assert_eq!(requests[1].body["messages"][2]["role"], "tool");
    assert!(!requests[1].is_stream());
    assert_eq!(requests[1].model(), Some("gpt-stub"));
}

#[tokio::test]
async fn always_rule_and_custom_fallback() {
    let stub = StubModel::start(Script::new().fallback(Reply::text("custom fallback"))).await.unwrap();
    assert_eq!(anthropic_text(&stub, &anthropic_user("x")).await, "custom fallback");
    stub.set_script(Script::new().rule(Match::Always, Reply::text("always")).then(Reply::text("never")));
    assert_eq!(anthropic_text(&stub, &anthropic_user("x")).await, "always");
    assert_eq!(openai_text(&stub, &openai_request("y", false)).await, "always");
}

#[tokio::test]
async fn set_script_restarts_the_steps() {
    let stub = StubModel::start(Script::new().then(Reply::text("a1")).then(Reply::text("a2"))).await.unwrap();
    assert_eq!(anthropic_text(&stub, &anthropic_user("x")).await, "a1");
    stub.set_script(Script::new().then(Reply::text("b1")));
    assert_eq!(anthropic_text(&stub, &anthropic_user("x")).await, "b1");
    assert_eq!(anthropic_text(&stub, &anthropic_user("x")).await, EXHAUSTED_TEXT);
    assert_eq!(stub.requests().len(), 3, "recorded requests survive set_script");
}

#[tokio::test]
async fn raw_replies_send_their_bytes_verbatim() {
    let chunks =
        vec![b"event: message_start\ndata: {\"ty".to_vec(), vec![0xff, 0xfe, b'\n'], Vec::new(), b"\n".to_vec()];
    let stub = StubModel::start(Script::new().fallback(Reply::Raw(chunks.clone()))).await.unwrap();
    let streamed = post(&format!("{}/v1/messages", stub.url()), &crate::common::anthropic_request("hi", true)).await;
    assert_eq!(streamed.status(), 200);
    assert!(streamed.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(streamed.bytes().await.unwrap().to_vec(), chunks.concat());
    let whole = post(&format!("{}/chat/completions", stub.openai_base_url()), &openai_request("hi", false)).await;
    assert_eq!(whole.headers()["content-type"], "application/json");
    assert_eq!(whole.bytes().await.unwrap().to_vec(), chunks.concat());
}
