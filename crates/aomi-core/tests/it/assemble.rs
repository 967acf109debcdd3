//! Folding stream parts into a message.

use aomi_core::{ChatMessage, MessageAssembler, MessagePart, ToolState, UiChunk};
use serde_json::json;

fn chunk(value: serde_json::Value) -> UiChunk {
    serde_json::from_value(value).unwrap()
}

#[test]
fn a_turn_with_a_tool_call_assembles_and_reports_commit_points() {
    let mut assembler = MessageAssembler::new(ChatMessage::assistant("m"));
    let stream = [
        (json!({ "type": "start", "messageId": "m" }), false),
        (json!({ "type": "start-step" }), false),
        (json!({ "type": "text-start", "id": "t1" }), false),
        (json!({ "type": "text-delta", "id": "t1", "delta": "Checking " }), false),
        (json!({ "type": "text-delta", "id": "t1", "delta": "now." }), false),
        (json!({ "type": "text-end", "id": "t1" }), true),
        (json!({ "type": "tool-input-start", "toolCallId": "c1", "toolName": "echo" }), false),
        (json!({ "type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{\"te" }), false),
        (
            json!({ "type": "tool-input-available", "toolCallId": "c1", "toolName": "echo", "input": { "text": "hi" } }),
            true,
        ),
        (json!({ "type": "data-tool-progress", "id": "c1", "data": { "message": "…" }, "transient": true }), false),
        (json!({ "type": "tool-output-available", "toolCallId": "c1", "output": { "echo": "hi" } }), true),
        (json!({ "type": "finish-step" }), true),
        (json!({ "type": "start-step" }), false),
        (json!({ "type": "text-start", "id": "t2" }), false),
        (json!({ "type": "text-delta", "id": "t2", "delta": "Done." }), false),
        (json!({ "type": "text-end", "id": "t2" }), true),
        (json!({ "type": "finish-step" }), true),
        (json!({ "type": "finish" }), true),
    ];
    for (value, commit) in stream {
        assert_eq!(assembler.apply(&chunk(value.clone())), commit, "{value}");
    }
    let message = assembler.into_message();
    assert_eq!(message.text(), "Checking now.Done.");
    assert_eq!(message.parts.len(), 5, "{:#?}", message.parts);
    let tool = message.tool_parts().next().unwrap();
    assert_eq!(tool.state, ToolState::OutputAvailable);
    assert_eq!(tool.input, json!({ "text": "hi" }));
    assert_eq!(tool.output, Some(json!({ "echo": "hi" })));
    assert!(!message.parts.iter().any(|p| matches!(p, MessagePart::Data { .. })), "transient parts are not kept");
}

#[test]
fn errors_are_kept_as_visible_parts_and_abort_marks_incomplete() {
    let mut assembler = MessageAssembler::new(ChatMessage::assistant("m"));
    assembler.apply(&chunk(json!({ "type": "text-delta", "id": "lost-start", "delta": "partial" })));
    assembler.apply(&chunk(json!({ "type": "tool-input-start", "toolCallId": "c", "toolName": "x" })));
    assembler.apply(&chunk(json!({ "type": "tool-output-error", "toolCallId": "c", "errorText": "boom" })));
    assembler.apply(&chunk(json!({ "type": "error", "errorText": "the model failed" })));
    assembler.apply(&chunk(json!({ "type": "abort" })));
    let message = assembler.message();
    assert_eq!(message.text(), "partial", "a delta without its start still counts");
    assert_eq!(message.tool_parts().next().unwrap().error_text.as_deref(), Some("boom"));
    assert!(message.parts.iter().any(
        |p| matches!(p, MessagePart::Data { name, data, .. } if name == "error" && data["message"] == "the model failed")
    ));
    assert!(message.is_incomplete());
}

#[test]
fn a_data_part_with_an_id_is_replaced_not_repeated() {
    let mut assembler = MessageAssembler::new(ChatMessage::assistant("m"));
    assembler.apply(&chunk(json!({ "type": "data-status", "id": "s", "data": 1 })));
    assembler.apply(&chunk(json!({ "type": "data-status", "id": "s", "data": 2 })));
    let data: Vec<_> = assembler.message().parts.iter().collect();
    assert_eq!(data.len(), 1);
    assert!(matches!(data[0], MessagePart::Data { data, .. } if data == &json!(2)));
}
