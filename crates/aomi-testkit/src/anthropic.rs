//! The Anthropic Messages wire (`POST /v1/messages`): the event stream, the
//! whole message and the error body, as the real API sends them.

use serde_json::{Value, json};

use crate::render::{Exchange, Frame, Plan, named_event};

/// The `message` object with no content yet, as `message_start` carries it.
fn message_head(exchange: &Exchange) -> Value {
    json!({
        "id": format!("msg_{:024}", exchange.serial),
        "type": "message",
        "role": "assistant",
        "model": exchange.model,
        "content": [],
        "stop_reason": null,
        "stop_sequence": null,
        "usage": {"input_tokens": exchange.input_tokens, "output_tokens": 1},
    })
}

fn stop_reason(plan: &Plan) -> &'static str {
    if plan.calls.is_empty() { "end_turn" } else { "tool_use" }
}

/// The frames that open every stream: `message_start`, then a `ping`.
pub(crate) fn opening(exchange: &Exchange) -> Vec<Frame> {
    vec![
        Frame::now(named_event("message_start", &json!({"type": "message_start", "message": message_head(exchange)}))),
        Frame::now(named_event("ping", &json!({"type": "ping"}))),
    ]
}

/// The whole event stream of a text or tool-call answer.
pub(crate) fn stream(plan: &Plan, exchange: &Exchange) -> Vec<Frame> {
    let mut frames = opening(exchange);
    let mut token = 0;
    let mut index = 0;
    if let Some(pieces) = &plan.text {
        frames.push(Frame::at(
            token,
            named_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "text", "text": ""}}),
            ),
        ));
        for piece in pieces {
            frames.push(Frame::at(
                token,
                named_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                            "delta": {"type": "text_delta", "text": piece}}),
                ),
            ));
            token += 1;
        }
        frames.push(Frame::now(named_event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        )));
        index += 1;
    }
    for call in &plan.calls {
        frames.push(Frame::at(
            token,
            named_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index,
                        "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}}),
            ),
        ));
        for piece in &call.pieces {
            frames.push(Frame::at(
                token,
                named_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ),
            ));
            token += 1;
        }
        frames.push(Frame::now(named_event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        )));
        index += 1;
    }
    frames.push(Frame::now(named_event(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason(plan), "stop_sequence": null},
                "usage": {"output_tokens": plan.output_tokens}}),
    )));
    frames.push(Frame::now(named_event("message_stop", &json!({"type": "message_stop"}))));
    frames
}

/// The whole message of a non-streamed answer.
pub(crate) fn message(plan: &Plan, exchange: &Exchange) -> Value {
    let mut content = Vec::new();
    if let Some(text) = plan.full_text() {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in &plan.calls {
        content.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}));
    }
    let mut message = message_head(exchange);
    message["content"] = Value::Array(content);
    message["stop_reason"] = json!(stop_reason(plan));
    message["usage"] = json!({"input_tokens": exchange.input_tokens, "output_tokens": plan.output_tokens});
    message
}

/// Anthropic's error `type` for an HTTP status.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// The error body for `status` and `message`.
pub(crate) fn error_body(status: u16, message: &str, serial: u64) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type(status), "message": message},
        "request_id": format!("req_{serial:024}"),
    })
}

/// Bytes that look like the start of a stream and are not valid SSE/JSON.
pub(crate) const MALFORMED_STREAM: &str = "event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"unterminated\n\n\
\u{1}\u{2} this is not an event stream }}]{{[\n\n";

/// A body that is not a JSON message.
pub(crate) const MALFORMED_WHOLE: &str =
    "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"unterminated";
