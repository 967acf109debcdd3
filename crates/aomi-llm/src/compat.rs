//! The OpenAI chat-completions request as every compatible server takes it.
//!
//! rig's chat-completions wire writes content the way the OpenAI API documents it, which is wider
//! than what compatible servers read: a system message's content always as an array of text parts,
//! and a user message with several text parts (aomi merges neighbouring user messages) as an array.
//! llama-cpp-python's server refuses both (`HTTP 500 … Input should be a valid string`), and chat
//! templates of local models often fail on array content. rig offers this flattening only inside
//! the dialects of two hosted gateways, which also switch tools off, so aomi rewrites the request
//! itself, on the way out, in the transport ([`crate::stream::Tap`]), after rig encoded it, on the
//! body's fields ([`crate::body`]):
//!
//! - every message whose content is an array of text parts only gets that text as one string (the
//!   parts joined by a blank line); an array holding anything else (an image, a file) stays an
//!   array, since only the array form can carry it;
//! - an assistant message that only calls tools gets `"content": ""`: llama-cpp-python refuses
//!   `null` there and its chat template fails on a message without `content`;
//! - with [`StructuredOutput::JsonObject`], the `response_format` rig writes in OpenAI's
//!   `json_schema` form is respelled in the `json_object` form with a `schema`, which
//!   llama-cpp-python's server reads (it refuses `json_schema`).
//!
//! Everything else is sent as rig wrote it.

use serde_json::{Map, Value, json};

use crate::body::Fields;
use crate::config::StructuredOutput;

/// The fields this rewrite reads: everything else (the tool definitions, the bulk of a request)
/// is copied as the bytes rig wrote, never parsed.
const REWRITTEN: [&str; 2] = ["messages", "response_format"];

/// [`rewrite_body`] on the request's fields: parses only the fields it may change (`messages`,
/// `response_format`) and leaves the others (the tool definitions) as they are, so that a model
/// call does not parse and write its tools' schemas once more. `None` when a field it reads is not
/// JSON it can write back (the body is then sent as rig wrote it).
pub(crate) fn rewrite_fields(fields: &mut Fields, structured: StructuredOutput) -> Option<()> {
    let mut rewritten = Map::new();
    for key in REWRITTEN {
        if let Some(raw) = fields.get(key) {
            rewritten.insert(key.to_owned(), serde_json::from_str(raw.get()).ok()?);
        }
    }
    let mut rewritten = Value::Object(rewritten);
    rewrite_body(&mut rewritten, structured);
    let Value::Object(rewritten) = rewritten else { return None };
    for (key, value) in rewritten {
        fields.replace(&key, serde_json::value::to_raw_value(&value).ok()?);
    }
    Some(())
}

/// Rewrites a chat-completions request body (JSON) for compatible servers; see the module doc.
/// A body that is not a JSON object is left alone.
pub(crate) fn rewrite_body(body: &mut Value, structured: StructuredOutput) {
    let Some(object) = body.as_object_mut() else { return };
    if let Some(Value::Array(messages)) = object.get_mut("messages") {
        for message in messages.iter_mut() {
            let Some(message) = message.as_object_mut() else { continue };
            let assistant = message.get("role").and_then(Value::as_str) == Some("assistant");
            match message.get_mut("content") {
                Some(content) if !content.is_null() => flatten_text(content),
                // An assistant message that only calls tools: an empty string, which OpenAI
                // takes, where llama-cpp-python refuses `null` and its chat template fails
                // on a message without `content`.
                _ if assistant => {
                    message.insert("content".to_owned(), Value::String(String::new()));
                }
                _ => {}
            }
        }
    }
    if structured == StructuredOutput::JsonObject {
        respell_response_format(object);
    }
}

/// An array of text parts only as one string; anything else unchanged.
fn flatten_text(content: &mut Value) {
    let Value::Array(parts) = content else { return };
    let mut texts = Vec::with_capacity(parts.len());
    for part in parts.iter() {
        match (part.get("type").and_then(Value::as_str), part.get("text").and_then(Value::as_str)) {
            (Some("text"), Some(text)) => texts.push(text),
            _ => return,
        }
    }
    *content = Value::String(texts.join("\n\n"));
}

/// `{"type": "json_schema", "json_schema": {"schema": S, …}}` as `{"type": "json_object", "schema": S}`.
fn respell_response_format(object: &mut Map<String, Value>) {
    let Some(format) = object.get("response_format") else { return };
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return;
    }
    let schema = format.pointer("/json_schema/schema").cloned().unwrap_or_else(|| json!({"type": "object"}));
    object.insert("response_format".to_owned(), json!({"type": "json_object", "schema": schema}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_only_arrays_become_strings_and_others_stay() {
        let mut body = json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "x"}}]},
            {"role": "assistant", "content": "plain", "tool_calls": []},
            {"role": "assistant", "tool_calls": [{"id": "c"}]},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "42"}]},
        ]});
        rewrite_body(&mut body, StructuredOutput::None);
        let contents: Vec<Value> =
            body["messages"].as_array().into_iter().flatten().map(|m| m["content"].clone()).collect();
        assert_eq!(contents[0], json!("be brief"));
        assert_eq!(contents[1], json!("a\n\nb"));
        assert!(contents[2].is_array(), "an image keeps the array form");
        assert_eq!(contents[3], json!("plain"));
        assert_eq!(contents[4], json!(""), "a message of tool calls only gets empty content");
        assert_eq!(contents[5], json!("42"));
    }

    #[test]
    fn the_bytes_rewrite_is_the_value_rewrite_and_keeps_the_other_fields_as_written() {
        let body = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
                {"role": "assistant", "tool_calls": [{"id": "c"}]},
            ],
            "tools": [{"type": "function", "function": {"name": "t", "parameters": {"b": 1.0, "a": [1, 2]}}}],
            "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
            "stream": true,
        });
        for structured in [StructuredOutput::None, StructuredOutput::JsonObject] {
            let written = serde_json::to_vec(&body).expect("json");
            let mut fields = Fields::parse(&written).expect("an object");
            rewrite_fields(&mut fields, structured).expect("rewritten");
            let rewritten = fields.to_vec().expect("json");
            let mut expected = body.clone();
            rewrite_body(&mut expected, structured);
            assert_eq!(serde_json::from_slice::<Value>(&rewritten).expect("json"), expected);
            // The tools are copied byte for byte (`1.0` stays `1.0`), in their place.
            let text = String::from_utf8(rewritten).expect("utf-8");
            assert!(text.contains(r#""parameters":{"b":1.0,"a":[1,2]}"#), "{text}");
            assert!(text.find("\"model\"") < text.find("\"tools\""), "{text}");
        }
    }

    #[test]
    fn response_format_is_respelled_only_when_asked() {
        let format =
            json!({"type": "json_schema", "json_schema": {"name": "T", "strict": true, "schema": {"type": "object"}}});
        let mut body = json!({"messages": [], "response_format": format.clone()});
        rewrite_body(&mut body, StructuredOutput::JsonSchema);
        assert_eq!(body["response_format"], format);
        rewrite_body(&mut body, StructuredOutput::JsonObject);
        assert_eq!(body["response_format"], json!({"type": "json_object", "schema": {"type": "object"}}));
    }
}
