//! Failures: retries, provider errors, malformed and stalled streams.

use std::time::Duration;

use aomi_llm::{LlmError, Provider};
use aomi_testkit::{Reply, Script};

use crate::{ask, both_providers, client, client_with, run, stub, text_of};

both_providers!(
    rate_limit_then_success_recovers,
    server_error_three_times_is_a_provider_error,
    client_error_is_not_retried,
    malformed_stream_is_malformed,
    stalled_stream_times_out,
    unreachable_provider_is_a_transport_error,
);

async fn rate_limit_then_success_recovers(provider: Provider) {
    let stub = stub(Script::new().then(Reply::error(429, "slow down")).then(Reply::text("recovered"))).await;
    let (events, error) = run(&client(&stub, provider), ask("hi")).await;
    assert_eq!(error, None, "{events:?}");
    assert_eq!(text_of(&events), "recovered");
    assert_eq!(stub.requests().len(), 2, "one retry");
}

async fn server_error_three_times_is_a_provider_error(provider: Provider) {
    let stub = stub(
        Script::new()
            .then(Reply::error(500, "boom 1"))
            .then(Reply::error(500, "boom 2"))
            .then(Reply::error(500, "boom 3"))
            .then(Reply::text("too late")),
    )
    .await;
    let (events, error) = run(&client(&stub, provider), ask("hi")).await;
    assert!(events.is_empty(), "{events:?}");
    match error {
        Some(LlmError::Provider { status: 500, message }) => assert!(message.contains("boom 3"), "{message}"),
        other => panic!("expected a 500 provider error, got {other:?}"),
    }
    assert_eq!(stub.requests().len(), 3, "the first try and two retries");
}

async fn client_error_is_not_retried(provider: Provider) {
    let stub = stub(Script::new().then(Reply::error(400, "bad request body")).then(Reply::text("never"))).await;
    let (_, error) = run(&client(&stub, provider), ask("hi")).await;
    assert!(matches!(&error, Some(LlmError::Provider { status: 400, .. })), "{error:?}");
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("bad request body") && !message.contains("test-anthropic-key"), "{message}");
    assert_eq!(stub.requests().len(), 1);
}

async fn malformed_stream_is_malformed(provider: Provider) {
    let stub = stub(Script::new().then(Reply::Malformed).then(Reply::text("never"))).await;
    let (events, error) = run(&client(&stub, provider), ask("hi")).await;
    assert!(matches!(error, Some(LlmError::MalformedStream(_))), "{error:?} after {events:?}");
    assert_eq!(stub.requests().len(), 1, "a malformed stream is not retried");
}

async fn stalled_stream_times_out(provider: Provider) {
    let idle = Duration::from_millis(300);
    let stub = stub(Script::new().then(Reply::Stall).then(Reply::text("never"))).await;
    let client = client_with(&stub, provider, |config| config.idle_timeout = idle);
    // Only a guard against hanging forever if the idle timeout broke, not a
    // bound on how fast the timeout fires.
    let Ok((events, error)) = tokio::time::timeout(Duration::from_secs(60), run(&client, ask("hi"))).await else {
        panic!("the stalled stream hung instead of timing out");
    };
    assert_eq!(error, Some(LlmError::Timeout(idle)), "{events:?}");
    assert_eq!(stub.requests().len(), 1, "a stall is not retried");
}

async fn unreachable_provider_is_a_transport_error(provider: Provider) {
    // A port that was free a moment ago: nothing listens there.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()) {
        Ok(addr) => addr.port(),
        Err(error) => panic!("no free port: {error}"),
    };
    let mut config = aomi_llm::ModelConfig::new(provider, "stub-model");
    config.api_key = Some("key".into());
    config.base_url = Some(format!("http://127.0.0.1:{port}/v1"));
    let client = match aomi_llm::LlmClient::new(config) {
        Ok(client) => client,
        Err(error) => panic!("no client: {error}"),
    };
    let (_, error) = run(&client, ask("hi")).await;
    assert!(matches!(error, Some(LlmError::Transport(_))), "{error:?}");
}

/// Regression (found by the stream fuzz target): one Anthropic frame naming content block
/// 4294967296 made rig pad its block vector to that length, a ~300 GB allocation that aborted the
/// process; `u64::MAX` overflowed an addition and panicked. Such a frame now ends the call with a
/// malformed-stream error, and a reply that stays within the limit still reads.
#[tokio::test]
async fn a_huge_block_index_is_a_malformed_stream() {
    let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}"#;
    for index in [4_294_967_296u64, u64::MAX, 1025] {
        let block =
            format!(r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"text","text":""}}}}"#);
        let body = format!("event: message_start\ndata: {start}\n\nevent: content_block_start\ndata: {block}\n\n");
        let stub = stub(Script::new().then(Reply::Raw(vec![body.into_bytes()]))).await;
        let (events, error) = run(&client(&stub, Provider::Anthropic), ask("hi")).await;
        match error {
            Some(LlmError::MalformedStream(message)) => assert!(message.contains("content block"), "{message}"),
            other => panic!("index {index}: expected a malformed stream, got {other:?} after {events:?}"),
        }
    }
}
