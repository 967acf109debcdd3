//! The OpenAI chat-completions wire (`POST /v1/chat/completions`): the
//! chunk stream, the whole completion and the error body, as the real API
//! sends them.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::render::{Exchange, Frame, Plan, data_event};
use crate::script::{Arguments, CallIds, FirstChunk};

fn completion_id(exchange: &Exchange) -> String {
    format!("chatcmpl-stub{:020}", exchange.serial)
}

fn created() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

fn finish_reason(plan: &Plan) -> &'static str {
    if plan.calls.is_empty() { "stop" } else { "tool_calls" }
}

fn usage(plan_tokens: u64, exchange: &Exchange) -> Value {
    json!({
        "prompt_tokens": exchange.input_tokens,
        "completion_tokens": plan_tokens,
        "total_tokens": exchange.input_tokens.saturating_add(plan_tokens),
    })
}

/// One `chat.completion.chunk` with `choices` as given.
fn chunk(exchange: &Exchange, created: u64, choices: Value) -> Value {
    json!({
        "id": completion_id(exchange),
        "object": "chat.completion.chunk",
        "created": created,
        "model": exchange.model,
        "system_fingerprint": "fp_stub",
        "choices": choices,
    })
}

/// A chunk whose one choice carries `delta` and `finish_reason`.
fn delta_chunk(exchange: &Exchange, created: u64, delta: Value, finish_reason: Option<&str>) -> String {
    chunk(exchange, created, json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]))
        .to_string()
}

/// The first chunk of a stream: the assistant role, and no content (in the shape's form; none for
/// [`FirstChunk::None`]).
pub(crate) fn opening(exchange: &Exchange) -> Vec<Frame> {
    let delta = match exchange.shape.first_chunk {
        FirstChunk::RoleAndEmptyContent => json!({"role": "assistant", "content": "", "refusal": null}),
        FirstChunk::RoleOnly => json!({"role": "assistant"}),
        FirstChunk::None => return Vec::new(),
    };
    vec![Frame::now(data_event(&delta_chunk(exchange, created(), delta, None)))]
}

/// The whole chunk stream of a text or tool-call answer, `[DONE]` included, in the exchange's
/// [`OpenAiShape`](crate::OpenAiShape).
pub(crate) fn stream(plan: &Plan, exchange: &Exchange) -> Vec<Frame> {
    let shape = &exchange.shape;
    let created = created();
    let mut frames = opening(exchange);
    let mut token = 0;
    for piece in plan.text.iter().flatten() {
        frames.push(Frame::at(token, data_event(&delta_chunk(exchange, created, json!({"content": piece}), None))));
        token += 1;
    }
    for (index, call) in plan.calls.iter().enumerate() {
        let arguments = match shape.arguments {
            Arguments::Split => json!(""),
            Arguments::Whole => json!(call.json),
            Arguments::Object => call.arguments.clone(),
        };
        let mut head =
            json!({"index": index, "type": "function", "function": {"name": call.name, "arguments": arguments}});
        match shape.call_ids {
            CallIds::Unique => head["id"] = json!(call.id),
            CallIds::Repeated => head["id"] = json!("call_0"),
            CallIds::Missing => {}
        }
        frames.push(Frame::at(token, data_event(&delta_chunk(exchange, created, json!({"tool_calls": [head]}), None))));
        if shape.arguments != Arguments::Split {
            token += 1;
            continue;
        }
        for piece in &call.pieces {
            let delta = if shape.repeat_call_head {
                let mut repeated = head.clone();
                repeated["function"]["arguments"] = json!(piece);
                json!({"role": null, "content": null, "tool_calls": [repeated],
                    "function_call": {"name": call.name, "arguments": piece}})
            } else {
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            };
            frames.push(Frame::at(token, data_event(&delta_chunk(exchange, created, delta, None))));
            token += 1;
        }
    }
    let reason = match shape.finish_reason.as_deref() {
        None => Some(finish_reason(plan)),
        Some("") => None,
        Some(named) => Some(named),
    };
    if let Some(reason) = reason {
        frames.push(Frame::now(data_event(&delta_chunk(exchange, created, json!({}), Some(reason)))));
    }
    if exchange.include_usage && shape.usage {
        let mut last = chunk(exchange, created, json!([]));
        last["usage"] = usage(plan.output_tokens, exchange);
        frames.push(Frame::now(data_event(&last.to_string())));
    }
    if shape.done {
        frames.push(Frame::now(data_event("[DONE]")));
    }
    frames
}

/// The whole `chat.completion` of a non-streamed answer.
pub(crate) fn completion(plan: &Plan, exchange: &Exchange) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": plan.full_text(),
        "refusal": null,
    });
    if !plan.calls.is_empty() {
        message["tool_calls"] = plan
            .calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.json},
                })
            })
            .collect();
    }
    json!({
        "id": completion_id(exchange),
        "object": "chat.completion",
        "created": created(),
        "model": exchange.model,
        "system_fingerprint": "fp_stub",
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(plan),
        }],
        "usage": usage(plan.output_tokens, exchange),
    })
}

/// The error body for `status` and `message`.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        401 => ("invalid_request_error", json!("invalid_api_key")),
        403 => ("invalid_request_error", json!("unsupported_country_region_territory")),
        404 => ("invalid_request_error", json!("model_not_found")),
        429 => ("requests", json!("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", Value::Null),
        _ => ("server_error", Value::Null),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// Bytes that look like the start of a stream and are not valid SSE/JSON.
pub(crate) const MALFORMED_STREAM: &str = "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\
\"choices\":[{\"index\":0,\"delta\":{\"content\":\"unterminated\n\n\
\u{1}\u{2} this is not an event stream }}]{{[\n\n";

/// A body that is not a JSON completion.
pub(crate) const MALFORMED_WHOLE: &str =
    "{\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion\",\"choices\":[{\"message\":{\"content\":\"unterminated";
