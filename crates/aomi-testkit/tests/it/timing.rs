//! Pacing: time to first token and tokens per second (lower bounds only).

use std::time::{Duration, Instant};

use aomi_testkit::{Reply, Script, StubModel, Timing};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::Value;

use crate::common::{PATIENCE, anthropic_request, openai_request, post};

/// The time from sending the request to the first event whose data
/// satisfies `is_content`, and to the end of the stream.
async fn first_content_and_end(url: &str, body: &Value, is_content: impl Fn(&Value) -> bool) -> (Duration, Duration) {
    let started = Instant::now();
    let response = post(url, body).await;
    assert_eq!(response.status(), 200);
    let mut events = response.bytes_stream().eventsource();
    let mut first = None;
    let read = async {
        while let Some(event) = events.next().await {
            let event = event.unwrap();
            if event.data == "[DONE]" {
                continue;
            }
            let data: Value = serde_json::from_str(&event.data).unwrap();
            if first.is_none() && is_content(&data) {
                first = Some(started.elapsed());
            }
        }
    };
    tokio::time::timeout(PATIENCE, read).await.expect("stream ends");
    (first.expect("some content arrived"), started.elapsed())
}

fn anthropic_content(data: &Value) -> bool {
    data["type"] == "content_block_start" || data["type"] == "content_block_delta"
}

fn openai_content(data: &Value) -> bool {
    data["choices"][0]["delta"]["content"].as_str().is_some_and(|text| !text.is_empty())
        || data["choices"][0]["delta"].get("tool_calls").is_some()
}

#[tokio::test]
async fn ttft_delays_the_first_content() {
    let ttft = Duration::from_millis(200);
    let stub =
        StubModel::start(Script::new().fallback(Reply::text("hello there")).timing(Timing::new().with_ttft(ttft)))
            .await
            .unwrap();
    let (first, _) = first_content_and_end(
        &format!("{}/v1/messages", stub.url()),
        &anthropic_request("hi", true),
        anthropic_content,
    )
    .await;
    assert!(first >= ttft, "anthropic first content after {first:?}");
    let (first, _) = first_content_and_end(
        &format!("{}/chat/completions", stub.openai_base_url()),
        &openai_request("hi", true),
        openai_content,
    )
    .await;
    assert!(first >= ttft, "openai first content after {first:?}");
    // A whole reply waits too.
    let started = Instant::now();
    let response = post(&format!("{}/v1/messages", stub.url()), &anthropic_request("hi", false)).await;
    let _ = response.bytes().await.unwrap();
    assert!(started.elapsed() >= ttft);
}

#[tokio::test]
async fn tokens_per_second_paces_the_chunks() {
    // 20 chunks of 2 characters at 100 chunks per second and no ttft: the
    // last chunk is due 190 ms after the body starts, so the stream cannot
    // end sooner than 190 ms after the request was sent. (The gap between
    // the first and last chunk as the client sees them is no bound: the
    // first may be read late.)
    let text = "ab".repeat(20);
    let timing = Timing::new().with_tokens_per_second(100.0).with_chars_per_token(2);
    let stub = StubModel::start(Script::new().fallback(Reply::text(text)).timing(timing)).await.unwrap();
    let (first, end) = first_content_and_end(
        &format!("{}/v1/messages", stub.url()),
        &anthropic_request("hi", true),
        anthropic_content,
    )
    .await;
    assert!(end >= Duration::from_millis(190), "anthropic: first {first:?}, end {end:?}");
    let (first, end) = first_content_and_end(
        &format!("{}/chat/completions", stub.openai_base_url()),
        &openai_request("hi", true),
        openai_content,
    )
    .await;
    assert!(end >= Duration::from_millis(190), "openai: first {first:?}, end {end:?}");
}
