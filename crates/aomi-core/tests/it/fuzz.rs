//! Fuzz targets of the protocol types: the chat message (`UIMessage`) and its parts, which a
//! client posts and the store keeps, and the UI message stream chunks. Properties
//! (docs/fuzzing.md):
//! - a generated message or chunk survives JSON text unchanged: `from_str(to_string(x)) == x`;
//! - arbitrary JSON deserializes to a value or an error, never a panic, and what deserializes
//!   is stable: serializing it and reading it back gives the same value.
//!
//! Cases per property: `PROPTEST_CASES` (256 by default). (aomi-core depends on serde alone, so
//! its JSON strategy is its own rather than aomi-testkit's.)

use aomi_core::{ChatMessage, FinishReason, MessagePart, Role, ToolPart, ToolState, UiChunk, WalletContext};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    Config { cases, source_file: Some(file!()), ..Config::default() }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => ".{0,16}",
        2 => "[a-z-]{0,10}",
        1 => Just(String::new()),
        1 => Just("\u{0}\u{202e}\"\\\u{feff}".to_owned()),
    ]
}

/// Arbitrary JSON; numbers are integers or exact eighths, which survive JSON text.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-100_000i32..100_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..4).prop_map(|f| Value::Object(f.into_iter().collect())),
        ]
    })
}

/// JSON that is an object or absent: `Some(null)` is written as `null` and read back as `None`,
/// on purpose (an absent field and a null one mean the same).
fn metadata() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        proptest::collection::vec((text(), json()), 0..3).prop_map(|f| Value::Object(f.into_iter().collect())),
    )
}

fn tool_state() -> impl Strategy<Value = ToolState> {
    prop_oneof![
        Just(ToolState::InputStreaming),
        Just(ToolState::InputAvailable),
        Just(ToolState::OutputAvailable),
        Just(ToolState::OutputError),
    ]
}

/// A part type this crate keeps verbatim: none of its own, nor `tool-*` / `data-*`.
fn other_type() -> impl Strategy<Value = String> {
    "[a-z][a-z-]{0,12}".prop_filter("not a modelled part", |kind| {
        !["text", "reasoning", "step-start", "source-url", "dynamic-tool"].contains(&kind.as_str())
            && !kind.starts_with("tool-")
            && !kind.starts_with("data-")
    })
}

fn part() -> impl Strategy<Value = MessagePart> {
    prop_oneof![
        text().prop_map(|text| MessagePart::Text { text }),
        text().prop_map(|text| MessagePart::Reasoning { text }),
        Just(MessagePart::StepStart),
        (text(), text(), tool_state(), json(), proptest::option::of(json()), proptest::option::of(text())).prop_map(
            |(tool_name, tool_call_id, state, input, output, error_text)| {
                MessagePart::Tool(ToolPart { tool_name, tool_call_id, state, input, output, error_text })
            }
        ),
        (text(), text(), proptest::option::of(text())).prop_map(|(source_id, url, title)| MessagePart::SourceUrl {
            source_id,
            url,
            title
        }),
        (text(), proptest::option::of(text()), json()).prop_map(|(name, id, data)| MessagePart::Data {
            name,
            id,
            data
        }),
        (other_type(), proptest::collection::vec((text(), json()), 0..3)).prop_map(|(kind, fields)| {
            let mut map: Map<String, Value> = fields.into_iter().collect();
            map.insert("type".into(), Value::String(kind));
            MessagePart::Other(Value::Object(map))
        }),
    ]
}

fn message() -> impl Strategy<Value = ChatMessage> {
    (
        text(),
        prop_oneof![Just(Role::System), Just(Role::User), Just(Role::Assistant)],
        proptest::collection::vec(part(), 0..6),
        metadata(),
    )
        .prop_map(|(id, role, parts, metadata)| ChatMessage { id, role, parts, metadata })
}

fn finish_reason() -> impl Strategy<Value = FinishReason> {
    prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ContentFilter),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::Error),
        Just(FinishReason::Other),
    ]
}

fn chunk() -> impl Strategy<Value = UiChunk> {
    let o = || proptest::option::of(text());
    prop_oneof![
        (o(), metadata()).prop_map(|(message_id, message_metadata)| UiChunk::Start { message_id, message_metadata }),
        Just(UiChunk::StartStep),
        Just(UiChunk::FinishStep),
        text().prop_map(|id| UiChunk::TextStart { id }),
        (text(), text()).prop_map(|(id, delta)| UiChunk::TextDelta { id, delta }),
        text().prop_map(|id| UiChunk::TextEnd { id }),
        text().prop_map(|id| UiChunk::ReasoningStart { id }),
        (text(), text()).prop_map(|(id, delta)| UiChunk::ReasoningDelta { id, delta }),
        text().prop_map(|id| UiChunk::ReasoningEnd { id }),
        (text(), text()).prop_map(|(tool_call_id, tool_name)| UiChunk::ToolInputStart { tool_call_id, tool_name }),
        (text(), text())
            .prop_map(|(tool_call_id, input_text_delta)| UiChunk::ToolInputDelta { tool_call_id, input_text_delta }),
        (text(), text(), json()).prop_map(|(tool_call_id, tool_name, input)| UiChunk::ToolInputAvailable {
            tool_call_id,
            tool_name,
            input
        }),
        (text(), text(), json(), text()).prop_map(|(tool_call_id, tool_name, input, error_text)| {
            UiChunk::ToolInputError { tool_call_id, tool_name, input, error_text }
        }),
        (text(), json(), proptest::option::of(any::<bool>())).prop_map(|(tool_call_id, output, preliminary)| {
            UiChunk::ToolOutputAvailable { tool_call_id, output, preliminary }
        }),
        (text(), text()).prop_map(|(tool_call_id, error_text)| UiChunk::ToolOutputError { tool_call_id, error_text }),
        (text(), text(), o()).prop_map(|(source_id, url, title)| UiChunk::SourceUrl { source_id, url, title }),
        (text(), o(), json(), proptest::option::of(any::<bool>()))
            .prop_map(|(name, id, data, transient)| UiChunk::Data { name, id, data, transient }),
        text().prop_map(|error_text| UiChunk::Error { error_text }),
        o().prop_map(|reason| UiChunk::Abort { reason }),
        (proptest::option::of(finish_reason()), metadata())
            .prop_map(|(finish_reason, message_metadata)| UiChunk::Finish { finish_reason, message_metadata }),
        json().prop_map(|message_metadata| UiChunk::MessageMetadata { message_metadata }),
    ]
}

/// JSON shaped like a message or a chunk, with fields that may be missing, mistyped or extra.
fn message_like() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just("text".to_owned()),
        Just("tool-x".to_owned()),
        Just("dynamic-tool".to_owned()),
        Just("data-x".to_owned()),
        Just("source-url".to_owned()),
        Just("step-start".to_owned()),
        Just("reasoning".to_owned()),
        Just("start".to_owned()),
        Just("finish".to_owned()),
        Just("text-delta".to_owned()),
        Just("tool-output-available".to_owned()),
        Just("data-".to_owned()),
        text(),
    ];
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("text".to_owned()),
        Just("id".to_owned()),
        Just("toolCallId".to_owned()),
        Just("toolName".to_owned()),
        Just("state".to_owned()),
        Just("input".to_owned()),
        Just("output".to_owned()),
        Just("errorText".to_owned()),
        Just("data".to_owned()),
        Just("delta".to_owned()),
        Just("finishReason".to_owned()),
        Just("messageMetadata".to_owned()),
        Just("sourceId".to_owned()),
        Just("url".to_owned()),
        text(),
    ];
    let part = (kind, proptest::collection::vec((key, json()), 0..5))
        .prop_map(|(kind, fields)| {
            let mut map: Map<String, Value> = fields.into_iter().collect();
            map.insert("type".into(), Value::String(kind));
            Value::Object(map)
        })
        .boxed();
    let parts = proptest::collection::vec(prop_oneof![4 => part.clone(), 1 => json().boxed()], 0..4);
    prop_oneof![
        part,
        (json(), prop_oneof![Just("user"), Just("assistant"), Just("system"), Just("tool")], parts, json()).prop_map(
            |(id, role, parts, metadata)| {
                serde_json::json!({ "id": id, "role": role, "parts": parts, "metadata": metadata })
            }
        ),
        json(),
    ]
}

/// Deserializing `value` as `T` does not panic; a value that deserializes is stable.
fn stable<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(first) = serde_json::from_value::<T>(value.clone()) {
        let text = serde_json::to_string(&first).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again: T = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(again, first, "{}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Every generated message survives JSON text.
    #[test]
    fn messages_round_trip(message in message()) {
        let text = serde_json::to_string(&message).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: ChatMessage = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, message, "{}", text);
    }

    /// Every generated stream chunk survives JSON text (one SSE `data:` line).
    #[test]
    fn chunks_round_trip(chunk in chunk()) {
        let text = chunk.to_json();
        let back: UiChunk = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, chunk, "{}", text);
    }

    /// Arbitrary and message-shaped JSON: a value or an error, and stable when it is a value.
    #[test]
    fn arbitrary_json_is_read_or_refused(value in message_like()) {
        stable::<ChatMessage>(&value)?;
        stable::<MessagePart>(&value)?;
        stable::<UiChunk>(&value)?;
        stable::<WalletContext>(&value)?;
    }

    /// Arbitrary bytes as JSON text never panic the readers.
    #[test]
    fn arbitrary_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<ChatMessage>(&bytes);
        let _ = serde_json::from_slice::<UiChunk>(&bytes);
    }
}

/// The seed corpus: messages and chunks that are almost right.
#[test]
fn near_misses_are_refused_or_kept() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases = [
        r#"{"id":"m","role":"user","parts":[{"type":"text"}]}"#,
        r#"{"id":"m","role":"user","parts":[{"type":"tool-"}]}"#,
        r#"{"id":"m","role":"user","parts":[{"type":"tool-x","toolCallId":"c","state":"done"}]}"#,
        r#"{"id":"m","role":"user","parts":[{"type":"dynamic-tool","toolCallId":"c"}]}"#,
        r#"{"id":"m","role":"user","parts":[{"type":"data-"}]}"#,
        r#"{"id":"m","role":"user","parts":[{"type":7}]}"#,
        r#"{"id":"m","role":"user","parts":[null]}"#,
        r#"{"id":"m","role":"user","parts":{}}"#,
        r#"{"id":"m","role":"tool","parts":[]}"#,
        r#"{"id":null,"role":"user"}"#,
        r#"{"type":"data-x"}"#,
        r#"{"type":"finish","finishReason":"done"}"#,
        r#"{"type":"text-delta","id":"t"}"#,
        r#"{"type":"start","messageMetadata":null}"#,
        deep.as_str(),
    ];
    for case in cases {
        let value: Value = match serde_json::from_str(case) {
            Ok(value) => value,
            // serde_json refuses JSON nested over 128 levels: the deep case ends here.
            Err(_) => continue,
        };
        for result in [stable::<ChatMessage>(&value), stable::<UiChunk>(&value), stable::<MessagePart>(&value)] {
            if let Err(error) = result {
                panic!("{case}: {error}");
            }
        }
    }
}
