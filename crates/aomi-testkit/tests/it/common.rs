//! Helpers shared by the tests: requests, SSE parsing, reassembly.

use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures::StreamExt;
use serde_json::{Value, json};

/// Generous limit for anything that should complete (never a speed claim).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub async fn post(url: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new().post(url).header("x-api-key", "test-key").json(body).send().await.expect("request sent")
}

pub fn anthropic_request(text: &str, stream: bool) -> Value {
    json!({
        "model": "claude-stub",
        "max_tokens": 256,
        "system": [{"type": "text", "text": "You are a test."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        "stream": stream,
    })
}

pub fn openai_request(text: &str, stream: bool) -> Value {
    json!({
        "model": "gpt-stub",
        "messages": [
            {"role": "system", "content": "You are a test."},
            {"role": "user", "content": text}
        ],
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// Every SSE event of a response, until the body ends.
pub async fn events(response: reqwest::Response) -> Vec<Event> {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let all = response.bytes_stream().eventsource().collect::<Vec<_>>();
    let all = tokio::time::timeout(PATIENCE, all).await.expect("stream ended");
    all.into_iter().map(|event| event.expect("valid SSE")).collect()
}

/// The data of every event, as JSON (`[DONE]` excluded).
pub fn data(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event.data != "[DONE]")
        .map(|event| serde_json::from_str(&event.data).expect("event data is JSON"))
        .collect()
}

/// One content block of an Anthropic stream, reassembled.
#[derive(Debug, Default, PartialEq)]
pub struct Block {
    pub kind: String,
    pub text: String,
    pub id: String,
    pub name: String,
    pub json: String,
    pub deltas: usize,
    pub stopped: bool,
}

/// The blocks of an Anthropic stream and its stop reason; checks that each
/// event's name matches its `type` and that the envelope is complete.
pub fn anthropic_blocks(events: &[Event]) -> (Vec<Block>, String) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut stop_reason = String::new();
    let names = events.iter().map(|event| event.event.as_str()).filter(|name| *name != "ping").collect::<Vec<_>>();
    assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
    assert_eq!(names.last(), Some(&"message_stop"), "{names:?}");
    for event in events {
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["type"], event.event.as_str(), "event name matches its type");
        match event.event.as_str() {
            "message_start" => {
                assert_eq!(data["message"]["role"], "assistant");
                assert_eq!(data["message"]["content"], json!([]));
                assert!(data["message"]["usage"]["input_tokens"].as_u64().unwrap() > 0);
            }
            "content_block_start" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(index, blocks.len(), "blocks open in order");
                let block = &data["content_block"];
                blocks.push(Block {
                    kind: block["type"].as_str().unwrap().to_owned(),
                    id: block["id"].as_str().unwrap_or_default().to_owned(),
                    name: block["name"].as_str().unwrap_or_default().to_owned(),
                    ..Block::default()
                });
            }
            "content_block_delta" => {
                let block = &mut blocks[data["index"].as_u64().unwrap() as usize];
                assert!(!block.stopped);
                block.deltas += 1;
                match data["delta"]["type"].as_str().unwrap() {
                    "text_delta" => block.text.push_str(data["delta"]["text"].as_str().unwrap()),
                    "input_json_delta" => block.json.push_str(data["delta"]["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => blocks[data["index"].as_u64().unwrap() as usize].stopped = true,
            "message_delta" => {
                stop_reason = data["delta"]["stop_reason"].as_str().unwrap().to_owned();
                assert!(data["usage"]["output_tokens"].as_u64().unwrap() > 0);
            }
            "message_stop" | "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(blocks.iter().all(|block| block.stopped));
    (blocks, stop_reason)
}

/// One tool call of an OpenAI stream, reassembled.
#[derive(Debug, Default, PartialEq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub arguments: String,
    pub pieces: usize,
}

/// The text, the calls, the finish reason and the usage chunk of an OpenAI
/// stream; checks the chunk envelope, the role first and `[DONE]` last.
pub fn openai_parts(events: &[Event]) -> (String, Vec<Call>, String, Option<Value>) {
    assert_eq!(events.last().map(|event| event.data.as_str()), Some("[DONE]"));
    let chunks = data(events);
    let mut text = String::new();
    let mut calls: Vec<Call> = Vec::new();
    let mut finish = String::new();
    let mut usage = None;
    for (position, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert!(chunk["created"].as_u64().is_some());
        assert_eq!(chunk["model"], "gpt-stub");
        let choices = chunk["choices"].as_array().unwrap();
        if choices.is_empty() {
            usage = Some(chunk["usage"].clone());
            continue;
        }
        let choice = &choices[0];
        assert_eq!(choice["index"], 0);
        assert!(usage.is_none(), "the usage chunk comes last");
        let delta = &choice["delta"];
        if position == 0 {
            assert_eq!(delta["role"], "assistant");
        } else {
            assert!(delta.get("role").is_none());
        }
        if let Some(piece) = delta["content"].as_str() {
            text.push_str(piece);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap() as usize;
            if let Some(id) = call["id"].as_str() {
                assert_eq!(index, calls.len(), "calls open in order");
                assert_eq!(call["type"], "function");
                calls.push(Call {
                    id: id.to_owned(),
                    name: call["function"]["name"].as_str().unwrap().to_owned(),
                    ..Call::default()
                });
            }
            let arguments = call["function"]["arguments"].as_str().unwrap();
            if !arguments.is_empty() {
                calls[index].arguments.push_str(arguments);
                calls[index].pieces += 1;
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            assert!(finish.is_empty(), "one finish reason");
            finish = reason.to_owned();
        } else {
            assert!(choice["finish_reason"].is_null());
        }
    }
    (text, calls, finish, usage)
}
