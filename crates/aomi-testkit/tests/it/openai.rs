//! The OpenAI chat-completions wire over HTTP.

use std::time::Duration;

use aomi_testkit::{Protocol, Reply, Script, ScriptedCall, StubModel};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::common::{PATIENCE, events, openai_parts, openai_request, post};

fn completions_url(stub: &StubModel) -> String {
    format!("{}/chat/completions", stub.openai_base_url())
}

const LONG_TEXT: &str = "Streaming text in many small pieces, with ünïcödé, reassembles exactly.";

#[tokio::test]
async fn streamed_text_reassembles_with_usage_and_done() {
    let stub = StubModel::start(Script::new().then(Reply::text(LONG_TEXT))).await.unwrap();
    let events = events(post(&completions_url(&stub), &openai_request("hi", true)).await).await;
    let (text, calls, finish, usage) = openai_parts(&events);
    assert_eq!(text, LONG_TEXT);
    assert!(calls.is_empty());
    assert_eq!(finish, "stop");
    let usage = usage.expect("include_usage asks for a usage chunk");
    let (prompt, completion) = (usage["prompt_tokens"].as_u64().unwrap(), usage["completion_tokens"].as_u64().unwrap());
    assert!(prompt > 0 && completion > 0);
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), prompt + completion);
    let content_chunks = crate::common::data(&events)
        .iter()
        .filter(|chunk| chunk["choices"][0]["delta"]["content"].as_str().is_some_and(|text| !text.is_empty()))
        .count();
    assert!(content_chunks > 5, "text arrives in chunks: {content_chunks}");
}

#[tokio::test]
async fn no_usage_chunk_unless_asked() {
    let stub = StubModel::start(Script::new().then(Reply::text("short"))).await.unwrap();
    let mut request = openai_request("hi", true);
    request.as_object_mut().unwrap().remove("stream_options");
    let events = events(post(&completions_url(&stub), &request).await).await;
    let (text, _, finish, usage) = openai_parts(&events);
    assert_eq!((text.as_str(), finish.as_str()), ("short", "stop"));
    assert!(usage.is_none());
}

#[tokio::test]
async fn streamed_tool_calls_reassemble() {
    let first = json!({"address": "0x00000000000000000000000000000000000000aa", "chain_id": 1});
    let second = json!({"symbol": "ETH", "nested": {"list": [1, 2.5, "x"], "flag": true}});
    let reply = Reply::ToolCalls {
        text: Some("Checking both.".into()),
        calls: vec![ScriptedCall::new("get_balance", first.clone()), ScriptedCall::new("get_price", second.clone())],
    };
    let stub = StubModel::start(Script::new().then(reply)).await.unwrap();
    let events = events(post(&completions_url(&stub), &openai_request("balance?", true)).await).await;
    let (text, calls, finish, _) = openai_parts(&events);
    assert_eq!(text, "Checking both.");
    assert_eq!(finish, "tool_calls");
    assert_eq!(calls.len(), 2);
    for (call, (name, arguments)) in calls.iter().zip([("get_balance", &first), ("get_price", &second)]) {
        assert_eq!(call.name, name);
        assert!(call.id.starts_with("call_"), "{}", call.id);
        assert!(call.pieces >= 2, "arguments in several pieces");
        assert_eq!(&serde_json::from_str::<Value>(&call.arguments).unwrap(), arguments);
    }
    assert_ne!(calls[0].id, calls[1].id);
}

#[tokio::test]
async fn whole_completion_when_not_streamed() {
    let stub = StubModel::start(
        Script::new().then(Reply::text("plain answer")).then(Reply::tool_call("lookup", json!({"q": "aomi"}))),
    )
    .await
    .unwrap();
    let completion: Value = post(&completions_url(&stub), &openai_request("hi", false)).await.json().await.unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["choices"][0]["message"]["role"], "assistant");
    assert_eq!(completion["choices"][0]["message"]["content"], "plain answer");
    assert!(completion["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert!(completion["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let completion: Value = post(&completions_url(&stub), &openai_request("hi", false)).await.json().await.unwrap();
    let message = &completion["choices"][0]["message"];
    assert!(message["content"].is_null());
    assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    let call = &message["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "lookup");
    let arguments: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"q": "aomi"}));
}

#[tokio::test]
async fn paths_with_and_without_v1() {
    let stub = StubModel::start(Script::new().fallback(Reply::text("same"))).await.unwrap();
    for url in [format!("{}/v1/chat/completions", stub.url()), format!("{}/chat/completions", stub.url())] {
        let completion: Value = post(&url, &openai_request("hi", false)).await.json().await.unwrap();
        assert_eq!(completion["choices"][0]["message"]["content"], "same");
    }
    let paths = stub.requests().into_iter().map(|request| (request.protocol, request.path)).collect::<Vec<_>>();
    assert_eq!(
        paths,
        vec![(Protocol::OpenAi, "/v1/chat/completions".to_owned()), (Protocol::OpenAi, "/chat/completions".to_owned())]
    );
}

#[tokio::test]
async fn responses_api_is_refused_with_an_explanation() {
    let stub = StubModel::start(Script::new()).await.unwrap();
    let response = post(&format!("{}/responses", stub.openai_base_url()), &json!({"model": "m", "input": "hi"})).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("chat completions"));
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn rate_limit_error_shape() {
    let stub = StubModel::start(Script::new().then(Reply::error(429, "slow down")).then(Reply::error(503, "later")))
        .await
        .unwrap();
    let response = post(&completions_url(&stub), &openai_request("hi", true)).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "slow down");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"]["type"].is_string());

    let response = post(&completions_url(&stub), &openai_request("hi", true)).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
}

#[tokio::test]
async fn invalid_json_body_is_a_400_in_openai_shape() {
    let stub = StubModel::start(Script::new().then(Reply::text("unused"))).await.unwrap();
    let response = reqwest::Client::new()
        .post(completions_url(&stub))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    // The step was not consumed.
    let completion: Value = post(&completions_url(&stub), &openai_request("hi", false)).await.json().await.unwrap();
    assert_eq!(completion["choices"][0]["message"]["content"], "unused");
}

#[tokio::test]
async fn malformed_stream_is_not_valid_chunks() {
    let stub = StubModel::start(Script::new().then(Reply::Malformed)).await.unwrap();
    let response = post(&completions_url(&stub), &openai_request("hi", true)).await;
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
    assert!(!events.iter().any(|event| matches!(event, Ok(event) if event.data == "[DONE]")));
}

#[tokio::test]
async fn stall_sends_headers_then_nothing() {
    let stub = StubModel::start(Script::new().then(Reply::Stall)).await.unwrap();
    let response = post(&completions_url(&stub), &openai_request("hi", true)).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(300), body.next()).await {
            Ok(Some(chunk)) => seen.extend_from_slice(&chunk.unwrap()),
            Ok(None) => panic!("a stalled stream must stay open"),
            Err(_) => break,
        }
    }
    let seen = String::from_utf8(seen).unwrap();
    assert!(!seen.contains("finish_reason\":\"") && !seen.contains("[DONE]"), "{seen}");
    assert!(tokio::time::timeout(Duration::from_millis(300), body.next()).await.is_err(), "no further bytes");

    // A stalled non-streamed request: headers, no body.
    stub.set_script(Script::new().then(Reply::Stall));
    let response = post(&completions_url(&stub), &openai_request("hi", false)).await;
    assert_eq!(response.status(), 200);
    assert!(tokio::time::timeout(Duration::from_millis(300), response.bytes()).await.is_err(), "no body");
}

#[tokio::test]
async fn a_request_over_the_context_limit_gets_the_providers_refusal() {
    let script = Script::new().then(Reply::text("fits")).context_limit(200);
    let stub = StubModel::start(script).await.unwrap();
    let small = post(&completions_url(&stub), &openai_request("hi", true)).await;
    assert_eq!(small.status(), 200);
    // A prompt of about 500 stub tokens: over the limit, refused as OpenAI refuses it.
    let big = post(&completions_url(&stub), &openai_request(&"word ".repeat(400), true)).await;
    assert_eq!(big.status(), 400);
    let body: Value = big.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("maximum context length is 200 tokens"), "{body}");
    // Anthropic's wire says it its way; the script's steps were not consumed by refusals.
    let anthropic = post(
        &format!("{}/v1/messages", stub.anthropic_base_url()),
        &crate::common::anthropic_request(&"word ".repeat(400), false),
    )
    .await;
    assert_eq!(anthropic.status(), 400);
    let body: Value = anthropic.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("prompt is too long"), "{body}");
    assert_eq!(stub.requests().len(), 3, "refused requests are recorded too");
}
