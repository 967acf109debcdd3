//! Streamed answers: text, tool calls, one-shot completion.

use aomi_llm::{ModelEvent, Provider};
use aomi_testkit::{Reply, Script, ScriptedCall, Timing};
use serde_json::{Value, json};

use crate::{ask, both_providers, client, run, stub, text_of};

const ANSWER: &str = "Hello! This answer arrives in many small pieces, about four characters each.";

both_providers!(
    streamed_text_reassembles,
    tool_call_streams_start_deltas_and_call,
    parallel_tool_calls_keep_their_ids,
    complete_returns_the_whole_text
);

async fn streamed_text_reassembles(provider: Provider) {
    let stub = stub(Script::new().then(Reply::text(ANSWER)).timing(Timing::new().with_chars_per_token(4))).await;
    let (events, error) = run(&client(&stub, provider), ask("hi")).await;
    assert_eq!(error, None, "{events:?}");
    assert_eq!(text_of(&events), ANSWER);
    let deltas = events.iter().filter(|event| matches!(event, ModelEvent::TextDelta(_))).count();
    assert!(deltas > 5, "the text should arrive in pieces: {events:?}");
    match events.last() {
        Some(ModelEvent::Done { output_tokens: Some(tokens), .. }) => assert!(*tokens > 0),
        other => panic!("the stream should end with Done and usage, got {other:?}"),
    }
    assert_eq!(events.iter().filter(|event| matches!(event, ModelEvent::Done { .. })).count(), 1);
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].is_stream());
}

/// The call events of `events` for call `id`, checked in order: one start,
/// deltas, one complete call. Returns the joined deltas and the arguments.
fn call_events(events: &[ModelEvent], id: &str, name: &str) -> (String, Value) {
    let position = |wanted: &dyn Fn(&ModelEvent) -> bool| events.iter().position(wanted);
    let start =
        position(&|event| matches!(event, ModelEvent::ToolCallStart { id: i, name: n } if i == id && n == name));
    let end = position(&|event| matches!(event, ModelEvent::ToolCall { id: i, name: n, .. } if i == id && n == name));
    let (Some(start), Some(end)) = (start, end) else {
        panic!("no start and complete call for {id} ({name}): {events:?}");
    };
    assert!(start < end, "the start comes first: {events:?}");
    let mut deltas = String::new();
    let mut delta_count = 0;
    for (index, event) in events.iter().enumerate() {
        if let ModelEvent::ToolCallDelta { id: i, delta } = event
            && i == id
        {
            assert!(start < index && index < end, "deltas come between start and call: {events:?}");
            deltas.push_str(delta);
            delta_count += 1;
        }
    }
    assert!(delta_count >= 2, "the arguments stream in pieces: {events:?}");
    let Some(ModelEvent::ToolCall { arguments, .. }) = events.get(end) else { unreachable!() };
    (deltas, arguments.clone())
}

async fn tool_call_streams_start_deltas_and_call(provider: Provider) {
    let arguments = json!({"message": "hi there", "times": [1, 2, 3], "loud": true});
    let stub =
        stub(Script::new().then(Reply::text_then_tool_call("Let me echo that.", "echo", arguments.clone()))).await;
    let (events, error) = run(&client(&stub, provider), ask("echo hi")).await;
    assert_eq!(error, None, "{events:?}");
    assert_eq!(text_of(&events), "Let me echo that.");
    // The provider's own id, known from the start.
    let id = match provider {
        Provider::Anthropic => "toolu_1",
        Provider::OpenAi => "call_1",
    };
    let (deltas, received) = call_events(&events, id, "echo");
    assert_eq!(received, arguments);
    assert_eq!(serde_json::from_str::<Value>(&deltas).ok(), Some(arguments));
    let text_end = events.iter().rposition(|event| matches!(event, ModelEvent::TextDelta(_)));
    let call_start = events.iter().position(|event| matches!(event, ModelEvent::ToolCallStart { .. }));
    assert!(text_end < call_start, "text first, then the call: {events:?}");
    assert!(matches!(events.last(), Some(ModelEvent::Done { .. })), "{events:?}");
}

async fn parallel_tool_calls_keep_their_ids(provider: Provider) {
    let first = json!({"address": "0x0000000000000000000000000000000000000001"});
    let second = json!({"address": "0x0000000000000000000000000000000000000002", "block": "latest"});
    let stub = stub(Script::new().then(Reply::tool_calls([
        ScriptedCall::new("get_balance", first.clone()),
        ScriptedCall::new("get_balance", second.clone()),
    ])))
    .await;
    let (events, error) = run(&client(&stub, provider), ask("two balances")).await;
    assert_eq!(error, None, "{events:?}");
    let ids = match provider {
        Provider::Anthropic => ["toolu_1", "toolu_2"],
        Provider::OpenAi => ["call_1", "call_2"],
    };
    assert_eq!(call_events(&events, ids[0], "get_balance").1, first);
    assert_eq!(call_events(&events, ids[1], "get_balance").1, second);
    let starts: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            ModelEvent::ToolCallStart { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(starts, ids);
}

async fn complete_returns_the_whole_text(provider: Provider) {
    let stub = stub(Script::new().then(Reply::text("A short title"))).await;
    let answer = client(&stub, provider).complete(ask("name this chat")).await;
    assert_eq!(answer.ok().as_deref(), Some("A short title"));
}
