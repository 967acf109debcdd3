//! The OpenAI-compatible path against what compatible servers take and send: the exact JSON each
//! message arrives as, the odd stream shapes of real servers, `response_format`, and the clear
//! errors for answers aomi cannot use.

use std::time::Duration;

use aomi_core::{ChatMessage, MessagePart, ToolPart, ToolSpec, ToolState};
use aomi_llm::schemars::JsonSchema;
use aomi_llm::{LlmError, ModelConfig, ModelEvent, ModelRequest, Provider, StructuredOutput};
use aomi_testkit::{Arguments, CallIds, FirstChunk, OpenAiShape, Reply, Script, ScriptedCall};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ask, client_with, run, stub, text_of};

/// user, then a second user message (merged into one with two text parts), an assistant step
/// with only a tool call, answered, a step of text, and a last user message.
fn conversation() -> ModelRequest {
    let mut answer = ChatMessage::assistant("a1");
    answer.parts = vec![
        MessagePart::StepStart,
        MessagePart::Tool(ToolPart {
            tool_name: "get_current_time".into(),
            tool_call_id: "call_t1".into(),
            state: ToolState::OutputAvailable,
            input: json!({}),
            output: Some(json!({"unix": 1700000000})),
            error_text: None,
        }),
        MessagePart::StepStart,
        MessagePart::text("It is late."),
    ];
    ModelRequest::new(
        "You are aomi.",
        vec![
            ChatMessage::user_text("u1", "Hello."),
            ChatMessage::user_text("u2", "What time is it?"),
            answer,
            ChatMessage::user_text("u3", "Thanks."),
        ],
    )
    .with_tools(vec![ToolSpec {
        name: "get_current_time".into(),
        description: "The time.".into(),
        parameters: json!({"type": "object", "properties": {}}),
    }])
}

/// Every text-only content is a string, for every role: the exact messages the server receives.
#[tokio::test]
async fn text_content_arrives_as_plain_strings() {
    let stub = stub(Script::new().then(Reply::text("Okay."))).await;
    let (events, error) = run(&client_with(&stub, Provider::OpenAi, |_| {}), conversation()).await;
    assert_eq!(error, None, "{events:?}");
    let requests = stub.requests();
    let body = &requests[0].body;
    let mut messages = body["messages"].clone();
    // The call's arguments are JSON text; compare them as JSON.
    let arguments = messages[2]["tool_calls"][0]["function"]["arguments"].take();
    assert_eq!(arguments.as_str().and_then(|text| serde_json::from_str::<Value>(text).ok()), Some(json!({})));
    assert_eq!(
        messages,
        json!([
            {"role": "system", "content": "You are aomi."},
            {"role": "user", "content": "Hello.\n\nWhat time is it?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_t1", "type": "function", "function": {"name": "get_current_time", "arguments": null}}
            ]},
            {"role": "tool", "tool_call_id": "call_t1", "content": "{\"unix\":1700000000}"},
            {"role": "assistant", "content": "It is late."},
            {"role": "user", "content": "Thanks."},
        ]),
        "{body}"
    );
}

/// What a subroutine of this test asks for.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
#[schemars(crate = "aomi_llm::schemars")]
struct Transfer {
    /// The amount, as written.
    amount: String,
    /// The token's symbol.
    token: String,
}

/// `response_format` goes only where the configuration says the server takes it, in its form.
#[tokio::test]
async fn structured_output_sends_the_schema_in_the_configured_form() {
    let answer = r#"{"amount": "5", "token": "USDC"}"#;
    let stub = stub(Script::new().fallback(Reply::text(answer))).await;
    let mut formats = Vec::new();
    for setting in [StructuredOutput::None, StructuredOutput::JsonSchema, StructuredOutput::JsonObject] {
        let client = client_with(&stub, Provider::OpenAi, |config| config.structured_output = setting);
        let transfer: Transfer = client.run_subroutine("Extract the transfer.", "send 5 USDC").await.unwrap();
        assert_eq!(transfer, Transfer { amount: "5".into(), token: "USDC".into() });
        let requests = stub.requests();
        formats.push(requests.last().map(|r| r.body["response_format"].clone()).unwrap_or_default());
    }
    assert_eq!(formats[0], Value::Null, "no response_format without the setting");
    let schema = &formats[1]["json_schema"]["schema"];
    assert_eq!(formats[1]["type"], "json_schema");
    assert_eq!(formats[1]["json_schema"]["strict"], true);
    assert_eq!(schema["properties"]["token"]["type"], "string", "{schema}");
    assert_eq!(schema["required"], json!(["amount", "token"]));
    assert_eq!(formats[2], json!({"type": "json_object", "schema": schema}));
}

#[test]
fn structured_output_is_read_and_checked() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    };
    let config = ModelConfig::utility_from_lookup(env(&[
        ("AOMI_UTILITY_MODEL", "openai:smollm2"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
        ("AOMI_UTILITY_BASE_URL", "http://127.0.0.1:2/v1"),
        ("AOMI_UTILITY_STRUCTURED_OUTPUT", "json_object"),
        ("AOMI_UTILITY_MAX_TOKENS", "128"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(config.max_tokens, 128);
    let zero = ModelConfig::utility_from_lookup(env(&[
        ("AOMI_UTILITY_MODEL", "openai:smollm2"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
        ("AOMI_UTILITY_MAX_TOKENS", "0"),
    ]));
    assert!(zero.unwrap_err().to_string().contains("positive number"));
    assert_eq!(config.base_url.as_deref(), Some("http://127.0.0.1:2/v1"), "the utility's own URL wins");
    assert_eq!(config.structured_output, StructuredOutput::JsonObject);
    let bad = ModelConfig::utility_from_lookup(env(&[
        ("AOMI_UTILITY_MODEL", "openai:smollm2"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
        ("AOMI_UTILITY_STRUCTURED_OUTPUT", "grammar"),
    ]));
    assert!(bad.unwrap_err().to_string().contains("none, json_schema or json_object"));
    let anthropic = ModelConfig::utility_from_lookup(env(&[
        ("AOMI_UTILITY_MODEL", "anthropic:claude-haiku-4-5"),
        ("ANTHROPIC_API_KEY", "k"),
        ("AOMI_UTILITY_STRUCTURED_OUTPUT", "json_schema"),
    ]));
    assert!(anthropic.unwrap_err().to_string().contains("openai: models only"));
}

/// The shapes real servers stream, one field changed at a time and a few together.
fn odd_shapes() -> Vec<(&'static str, OpenAiShape)> {
    let base = OpenAiShape::default;
    vec![
        ("standard", base()),
        ("role-only first chunk", OpenAiShape { first_chunk: FirstChunk::RoleOnly, ..base() }),
        ("no opening chunk", OpenAiShape { first_chunk: FirstChunk::None, ..base() }),
        ("finish eos", OpenAiShape { finish_reason: Some("eos".into()), ..base() }),
        ("finish end_turn", OpenAiShape { finish_reason: Some("end_turn".into()), ..base() }),
        ("finish unknown", OpenAiShape { finish_reason: Some("the_end".into()), ..base() }),
        ("no finish reason, [DONE]", OpenAiShape { finish_reason: Some(String::new()), ..base() }),
        ("finish, no [DONE]", OpenAiShape { done: false, ..base() }),
        ("no usage", OpenAiShape { usage: false, ..base() }),
        ("call ids missing", OpenAiShape { call_ids: CallIds::Missing, ..base() }),
        ("call ids repeated", OpenAiShape { call_ids: CallIds::Repeated, ..base() }),
        ("arguments whole", OpenAiShape { arguments: Arguments::Whole, ..base() }),
        ("arguments as an object", OpenAiShape { arguments: Arguments::Object, ..base() }),
        ("every chunk repeats the call's head", OpenAiShape { repeat_call_head: true, ..base() }),
        (
            "llama-cpp-python-like",
            OpenAiShape {
                first_chunk: FirstChunk::RoleOnly,
                call_ids: CallIds::Repeated,
                repeat_call_head: true,
                usage: false,
                ..base()
            },
        ),
        (
            "llama.cpp-like",
            OpenAiShape {
                first_chunk: FirstChunk::RoleOnly,
                finish_reason: Some(String::new()),
                call_ids: CallIds::Repeated,
                arguments: Arguments::Whole,
                repeat_call_head: false,
                usage: false,
                done: true,
            },
        ),
    ]
}

/// A text answer and a two-call answer read the same in every shape: the text whole, each call
/// with its name, its arguments and an id of its own, announced under that id, then `Done`.
#[tokio::test]
async fn odd_stream_shapes_read_the_same() {
    for (name, shape) in odd_shapes() {
        let script = Script::new()
            .then(Reply::text("It is noon."))
            .then(Reply::tool_calls([
                ScriptedCall::new("get_balance", json!({"address": "0x01"})),
                ScriptedCall::new("get_balance", json!({"address": "0x02", "note": "second"})),
            ]))
            .openai_shape(shape);
        let stub = stub(script).await;
        let client = client_with(&stub, Provider::OpenAi, |config| config.max_retries = 0);

        let (events, error) = run(&client, ask("time?")).await;
        assert_eq!(error, None, "{name}: {events:?}");
        assert_eq!(text_of(&events), "It is noon.", "{name}");
        assert!(matches!(events.last(), Some(ModelEvent::Done { .. })), "{name}: {events:?}");

        let (events, error) = run(&client, ask("balances?")).await;
        assert_eq!(error, None, "{name}: {events:?}");
        let calls: Vec<(&str, &str, &Value)> = events
            .iter()
            .filter_map(|event| match event {
                ModelEvent::ToolCall { id, name, arguments } => Some((id.as_str(), name.as_str(), arguments)),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 2, "{name}: {events:?}");
        assert_eq!(calls[0].2, &json!({"address": "0x01"}), "{name}");
        assert_eq!(calls[1].2, &json!({"address": "0x02", "note": "second"}), "{name}");
        assert!(calls.iter().all(|(id, tool, _)| !id.is_empty() && *tool == "get_balance"), "{name}");
        assert_ne!(calls[0].0, calls[1].0, "{name}: each call has an id of its own");
        let started: Vec<&str> = events
            .iter()
            .filter_map(|event| match event {
                ModelEvent::ToolCallStart { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(started, [calls[0].0, calls[1].0], "{name}: started under the ids they end with");
        assert!(matches!(events.last(), Some(ModelEvent::Done { .. })), "{name}: {events:?}");
    }
}

/// Bytes a server might answer with instead of a usable stream: each gives an error that says
/// what happened, at once (the stub closes the connection; the idle timeout is far away).
#[tokio::test]
async fn unusable_answers_are_clear_errors_not_hangs() {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    // What a case is called, the chunks the server sends, and the error it must give.
    type Case = (&'static str, Vec<String>, fn(&LlmError) -> bool);
    let cases: Vec<Case> = vec![
        (
            "cut before its end",
            vec![chunk(json!({"role": "assistant"}), Value::Null), chunk(json!({"content": "Hal"}), Value::Null)],
            |e| matches!(e, LlmError::MalformedStream(m) if m.contains("ended before")),
        ),
        (
            "only [DONE]",
            vec!["data: [DONE]\n\n".into()],
            |e| matches!(e, LlmError::MalformedStream(m) if m.contains("without sending any answer")),
        ),
        // llama-cpp-python, on a tool call it cannot stream: keep-alive comments, then the end.
        (
            "only pings",
            vec![": ping - 2026-12-03 16:16:50\n\n".into(), ": ping\n\n".into()],
            |e| matches!(e, LlmError::MalformedStream(m) if m.contains("without sending any answer")),
        ),
        (
            "an error inside the stream",
            vec![format!("data: {}\n\n", json!({"error": {"message": "model crashed", "type": "server_error"}}))],
            |e| e.to_string().contains("model crashed"),
        ),
        ("not an event stream", vec!["<html><body>Bad gateway</body></html>".into()], |e| {
            matches!(e, LlmError::MalformedStream(_) | LlmError::Provider { .. })
        }),
        (
            "an empty body",
            vec![],
            |e| matches!(e, LlmError::MalformedStream(m) if m.contains("without sending any answer")),
        ),
    ];
    for (name, frames, expected) in cases {
        let raw = frames.into_iter().map(String::into_bytes).collect();
        let stub = stub(Script::new().fallback(Reply::Raw(raw))).await;
        let client = client_with(&stub, Provider::OpenAi, |config| {
            config.max_retries = 0;
            config.idle_timeout = Duration::from_secs(30);
        });
        let started = std::time::Instant::now();
        let (events, error) = run(&client, ask("hi")).await;
        let Some(error) = error else { panic!("{name}: no error, events {events:?}") };
        assert!(expected(&error), "{name}: {error:?}");
        assert!(started.elapsed() < Duration::from_secs(30), "{name}: it waited for the idle timeout");
        assert!(!error.to_string().is_empty());
    }
}
