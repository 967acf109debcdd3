//! Every UI message stream part, parsed from the example in the `ai` package's stream-protocol
//! page (or its chunk schema where the page gives none) and written back unchanged.

use aomi_core::{FinishReason, UiChunk};
use serde_json::{Value, json};

/// The examples, as the protocol documentation writes them.
const EXAMPLES: &[&str] = &[
    r#"{"type":"start","messageId":"msg_1"}"#,
    r#"{"type":"text-start","id":"msg_68679a454370819ca74c8eb3d04379630dd1afb72306ca5d"}"#,
    r#"{"type":"text-delta","id":"msg_68679a454370819ca74c8eb3d04379630dd1afb72306ca5d","delta":"Hello"}"#,
    r#"{"type":"text-end","id":"msg_68679a454370819ca74c8eb3d04379630dd1afb72306ca5d"}"#,
    r#"{"type":"reasoning-start","id":"reasoning_123"}"#,
    r#"{"type":"reasoning-delta","id":"reasoning_123","delta":"This is some reasoning"}"#,
    r#"{"type":"reasoning-end","id":"reasoning_123"}"#,
    r#"{"type":"source-url","sourceId":"https://example.com","url":"https://example.com"}"#,
    r#"{"type":"data-weather","data":{"location":"SF","temperature":100}}"#,
    r#"{"type":"data-simulation","id":"sim-1","data":{"success":true},"transient":true}"#,
    r#"{"type":"error","errorText":"error message"}"#,
    r#"{"type":"tool-input-start","toolCallId":"call_fJdQDqnXeGxTmr4E3YPSR7Ar","toolName":"getWeatherInformation"}"#,
    r#"{"type":"tool-input-delta","toolCallId":"call_fJdQDqnXeGxTmr4E3YPSR7Ar","inputTextDelta":"San Francisco"}"#,
    r#"{"type":"tool-input-available","toolCallId":"call_fJdQDqnXeGxTmr4E3YPSR7Ar","toolName":"getWeatherInformation","input":{"city":"San Francisco"}}"#,
    r#"{"type":"tool-input-error","toolCallId":"call_1","toolName":"get_balance","input":"not json","errorText":"invalid arguments"}"#,
    r#"{"type":"tool-output-available","toolCallId":"call_fJdQDqnXeGxTmr4E3YPSR7Ar","output":{"city":"San Francisco","weather":"sunny"}}"#,
    r#"{"type":"tool-output-available","toolCallId":"call_1","output":{"step":1},"preliminary":true}"#,
    r#"{"type":"tool-output-error","toolCallId":"call_1","errorText":"timed out after 30 s"}"#,
    r#"{"type":"start-step"}"#,
    r#"{"type":"finish-step"}"#,
    r#"{"type":"finish"}"#,
    r#"{"type":"finish","finishReason":"tool-calls"}"#,
    r#"{"type":"abort","reason":"user cancelled"}"#,
    r#"{"type":"message-metadata","messageMetadata":{"incomplete":true}}"#,
];

#[test]
fn every_documented_part_round_trips() {
    for example in EXAMPLES {
        let original: Value = serde_json::from_str(example).unwrap();
        let chunk: UiChunk = serde_json::from_str(example).unwrap_or_else(|e| panic!("{example}: {e}"));
        let back: Value = serde_json::from_str(&chunk.to_json()).unwrap();
        assert_eq!(back, original, "{example}");
    }
}

#[test]
fn parts_parse_to_the_right_variant() {
    let chunk: UiChunk = serde_json::from_str(EXAMPLES[8]).unwrap();
    assert_eq!(chunk, UiChunk::data("weather", json!({ "location": "SF", "temperature": 100 })));
    let chunk: UiChunk = serde_json::from_str(r#"{"type":"finish","finishReason":"tool-calls"}"#).unwrap();
    assert_eq!(chunk, UiChunk::Finish { finish_reason: Some(FinishReason::ToolCalls), message_metadata: None });
    assert!(chunk.is_terminal());
    let chunk: UiChunk = serde_json::from_str(EXAMPLES[12]).unwrap();
    assert_eq!(
        chunk,
        UiChunk::ToolInputDelta {
            tool_call_id: "call_fJdQDqnXeGxTmr4E3YPSR7Ar".into(),
            input_text_delta: "San Francisco".into()
        }
    );
}

#[test]
fn unknown_or_incomplete_parts_are_refused() {
    for bad in [
        r#"{"type":"no-such-part"}"#,
        r#"{"type":"text-delta","id":"x"}"#,
        r#"{"type":"tool-input-start","toolCallId":"x"}"#,
        r#"{"id":"x"}"#,
        r#"{"type":"data-x"}"#,
    ] {
        assert!(serde_json::from_str::<UiChunk>(bad).is_err(), "{bad} parsed");
    }
}
