//! Messages in the AI SDK `UIMessage` shape.

use aomi_core::{ChatMessage, MessagePart, Role, ToolState};
use serde_json::{Value, json};

#[test]
fn a_ui_message_with_every_part_round_trips() {
    let original = json!({
        "id": "msg_1",
        "role": "assistant",
        "metadata": { "incomplete": true },
        "parts": [
            { "type": "step-start" },
            { "type": "reasoning", "text": "thinking" },
            { "type": "text", "text": "Let me check." },
            { "type": "tool-get_balance", "toolCallId": "call_1", "state": "output-available",
              "input": { "address": "0xabc" }, "output": { "data": { "wei": "1" }, "summary": "1 wei" } },
            { "type": "tool-send_transaction_to_wallet", "toolCallId": "call_2", "state": "input-available",
              "input": { "to": "0xdef" } },
            { "type": "tool-slow", "toolCallId": "call_3", "state": "output-error", "input": {}, "errorText": "timed out" },
            { "type": "source-url", "sourceId": "s1", "url": "https://example.com", "title": "Example" },
            { "type": "data-simulation", "id": "sim", "data": { "success": true } },
            { "type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AAAA" }
        ]
    });
    let message: ChatMessage = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(message.role, Role::Assistant);
    assert!(message.is_incomplete());
    assert_eq!(message.text(), "Let me check.");
    let tools: Vec<_> = message.tool_parts().collect();
    assert_eq!(tools.len(), 3);
    assert_eq!(tools[0].tool_name, "get_balance");
    assert_eq!(tools[1].state, ToolState::InputAvailable);
    assert_eq!(tools[2].error_text.as_deref(), Some("timed out"));
    assert!(matches!(message.parts.last(), Some(MessagePart::Other(_))), "unknown parts are kept verbatim");
    assert_eq!(serde_json::to_value(&message).unwrap(), original);
}

#[test]
fn a_dynamic_tool_part_is_read_as_a_tool_part() {
    let part: MessagePart = serde_json::from_value(json!({
        "type": "dynamic-tool", "toolName": "echo", "toolCallId": "c", "state": "output-available",
        "input": {}, "output": "x"
    }))
    .unwrap();
    let MessagePart::Tool(tool) = part else { panic!("not a tool part") };
    assert_eq!(tool.tool_name, "echo");
    assert_eq!(tool.output, Some(Value::from("x")));
}

#[test]
fn malformed_parts_are_refused_with_a_reason() {
    for (bad, reason) in [
        (json!({ "text": "no type" }), "type"),
        (json!({ "type": "text" }), "text"),
        (json!({ "type": "tool-x", "state": "output-available" }), "toolCallId"),
        (json!({ "type": "tool-x", "toolCallId": "c", "state": "exploded" }), "state"),
        (json!("just a string"), "object"),
    ] {
        let error = serde_json::from_value::<MessagePart>(bad.clone()).unwrap_err().to_string();
        assert!(error.contains(reason), "{bad}: {error}");
    }
}

#[test]
fn mark_incomplete_keeps_other_metadata() {
    let mut message = ChatMessage::assistant("a");
    message.metadata = Some(json!({ "model": "x" }));
    message.mark_incomplete();
    assert_eq!(message.metadata, Some(json!({ "model": "x", "incomplete": true })));
}
