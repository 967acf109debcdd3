//! OpenAPI schemas (utoipa) of the wire types whose serde shape is written by hand: a message part
//! ([`MessagePart`]) and a stream part ([`UiChunk`]). Their `type` is sometimes a prefix
//! (`tool-<name>`, `data-<name>`), which no derive expresses, so the schemas are built here, next
//! to the serde code they describe; the tests of this module check every variant against them.
//!
//! Compiled only with the `openapi` feature, which the server enables for `/api/openapi.json`.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::message::{MessagePart, ToolState};
use crate::stream::{FinishReason, UiChunk};

/// How a part's `type` is matched: one literal, or a prefix followed by a name.
enum Tag {
    Literal(&'static str),
    Prefix(&'static str),
}

/// One field of a part: its name, its schema and whether it is always present.
type Field = (&'static str, RefOr<Schema>, bool);

fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn boolean() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

fn any() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::AnyValue).into()
}

/// One alternative of a part union: an object with its `type` and fields.
fn part(tag: Tag, description: &str, fields: Vec<Field>) -> RefOr<Schema> {
    let kind = match tag {
        Tag::Literal(name) => ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name])),
        Tag::Prefix(prefix) => ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{prefix}.+")))
            .description(Some(format!("`{prefix}` followed by a name"))),
    };
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property("type", kind)
        .required("type");
    for (name, schema, required) in fields {
        object = object.property(name, schema);
        if required {
            object = object.required(name);
        }
    }
    object.into()
}

/// A `source-url` part: the same in a message and in a stream.
fn source_url() -> RefOr<Schema> {
    part(
        Tag::Literal("source-url"),
        "A link to a source.",
        vec![("sourceId", string(), true), ("url", string(), true), ("title", string(), false)],
    )
}

impl PartialSchema for MessagePart {
    fn schema() -> RefOr<Schema> {
        use Tag::{Literal, Prefix};
        let alternatives = [
            part(Literal("text"), "Text (Markdown).", vec![("text", string(), true)]),
            part(Literal("reasoning"), "The model's visible reasoning.", vec![("text", string(), true)]),
            part(Literal("step-start"), "The boundary between two model calls of one answer.", vec![]),
            part(
                Prefix("tool-"),
                "A tool call (`tool-<tool name>`) and, once known, its result.",
                vec![
                    ("toolCallId", string(), true),
                    ("state", ToolState::schema(), true),
                    ("input", any(), true),
                    ("output", any(), false),
                    ("errorText", string(), false),
                ],
            ),
            source_url(),
            part(
                Prefix("data-"),
                "An application-defined part (`data-<name>`).",
                vec![("id", string(), false), ("data", any(), true)],
            ),
        ];
        // A part of another type (a file, a source document…) is kept verbatim: any object with a
        // string `type`. It overlaps the others, hence `anyOf`.
        let other = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("A part of another type, kept verbatim."))
            .property("type", string())
            .required("type");
        alternatives
            .into_iter()
            .fold(AnyOfBuilder::new(), AnyOfBuilder::item)
            .item(other)
            .description(Some("One part of a message, as in the AI SDK's `UIMessage`."))
            .into()
    }
}

impl ToSchema for MessagePart {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MessagePart")
    }
}

impl PartialSchema for UiChunk {
    fn schema() -> RefOr<Schema> {
        use Tag::{Literal, Prefix};
        let id = || ("id", string(), true);
        let call = || ("toolCallId", string(), true);
        let alternatives = [
            part(
                Literal("start"),
                "The assistant message begins.",
                vec![("messageId", string(), false), ("messageMetadata", any(), false)],
            ),
            part(Literal("start-step"), "One model call (a step) begins.", vec![]),
            part(Literal("finish-step"), "One model call (a step) ended.", vec![]),
            part(Literal("text-start"), "A text block begins.", vec![id()]),
            part(Literal("text-delta"), "Text appended to a text block.", vec![id(), ("delta", string(), true)]),
            part(Literal("text-end"), "A text block ended.", vec![id()]),
            part(Literal("reasoning-start"), "A reasoning block begins.", vec![id()]),
            part(Literal("reasoning-delta"), "Reasoning appended to a block.", vec![id(), ("delta", string(), true)]),
            part(Literal("reasoning-end"), "A reasoning block ended.", vec![id()]),
            part(
                Literal("tool-input-start"),
                "The model started a tool call.",
                vec![call(), ("toolName", string(), true)],
            ),
            part(
                Literal("tool-input-delta"),
                "A piece of the tool call's JSON arguments.",
                vec![call(), ("inputTextDelta", string(), true)],
            ),
            part(
                Literal("tool-input-available"),
                "The tool call's arguments are complete.",
                vec![call(), ("toolName", string(), true), ("input", any(), true)],
            ),
            part(
                Literal("tool-input-error"),
                "The tool call's arguments are invalid.",
                vec![call(), ("toolName", string(), true), ("input", any(), true), ("errorText", string(), true)],
            ),
            part(
                Literal("tool-output-available"),
                "The tool ran and produced this output.",
                vec![call(), ("output", any(), true), ("preliminary", boolean(), false)],
            ),
            part(Literal("tool-output-error"), "The tool failed.", vec![call(), ("errorText", string(), true)]),
            source_url(),
            part(
                Prefix("data-"),
                "An application-defined part (`data-<name>`); a later one with the same name and id replaces it.",
                vec![("id", string(), false), ("data", any(), true), ("transient", boolean(), false)],
            ),
            part(
                Literal("error"),
                "The turn failed; the text is shown to the user.",
                vec![("errorText", string(), true)],
            ),
            part(Literal("abort"), "The stream was aborted.", vec![("reason", string(), false)]),
            part(
                Literal("finish"),
                "The assistant message is complete.",
                vec![("finishReason", FinishReason::schema(), false), ("messageMetadata", any(), false)],
            ),
            part(Literal("message-metadata"), "Metadata for the message.", vec![("messageMetadata", any(), true)]),
        ];
        alternatives
            .into_iter()
            .fold(OneOfBuilder::new(), OneOfBuilder::item)
            .description(Some(
                "One part of the AI SDK UI message stream (v1): the JSON of one SSE `data:` line; the stream ends \
                 with `data: [DONE]`.",
            ))
            .into()
    }
}

impl ToSchema for UiChunk {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UiChunk")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::message::ToolPart;

    /// The alternatives of a union schema whose `type` accepts this part's `type`.
    fn matching<'a>(alternatives: &'a [Value], part: &Value) -> Vec<&'a Value> {
        let kind = part["type"].as_str().unwrap_or_default();
        alternatives
            .iter()
            .filter(|alternative| {
                let tag = &alternative["properties"]["type"];
                match (&tag["enum"], tag["pattern"].as_str()) {
                    (Value::Array(names), _) => names.iter().any(|name| name == kind),
                    (_, Some(pattern)) => kind.starts_with(pattern.trim_start_matches('^').trim_end_matches(".+")),
                    _ => false,
                }
            })
            .collect()
    }

    /// Every key the part has is a property of the alternative, and every required one is there.
    fn conforms(alternative: &Value, part: &Value) {
        let properties = alternative["properties"].as_object().cloned().unwrap_or_default();
        let keys = part.as_object().cloned().unwrap_or_default();
        for key in keys.keys() {
            assert!(properties.contains_key(key), "{part}: \"{key}\" is not in the schema {alternative}");
        }
        for required in alternative["required"].as_array().cloned().unwrap_or_default() {
            let required = required.as_str().unwrap_or_default();
            assert!(keys.contains_key(required), "{part}: the schema requires \"{required}\"");
        }
    }

    #[test]
    fn every_stream_part_matches_exactly_one_alternative_of_its_schema() {
        let schema = serde_json::to_value(UiChunk::schema()).unwrap();
        let alternatives = schema["oneOf"].as_array().cloned().unwrap();
        let call = || "call-1".to_owned();
        let chunks = [
            UiChunk::Start { message_id: Some("m".into()), message_metadata: Some(json!({})) },
            UiChunk::StartStep,
            UiChunk::FinishStep,
            UiChunk::TextStart { id: "t".into() },
            UiChunk::TextDelta { id: "t".into(), delta: "hi".into() },
            UiChunk::TextEnd { id: "t".into() },
            UiChunk::ReasoningStart { id: "r".into() },
            UiChunk::ReasoningDelta { id: "r".into(), delta: "hm".into() },
            UiChunk::ReasoningEnd { id: "r".into() },
            UiChunk::ToolInputStart { tool_call_id: call(), tool_name: "balance".into() },
            UiChunk::ToolInputDelta { tool_call_id: call(), input_text_delta: "{".into() },
            UiChunk::ToolInputAvailable { tool_call_id: call(), tool_name: "balance".into(), input: json!({}) },
            UiChunk::ToolInputError {
                tool_call_id: call(),
                tool_name: "balance".into(),
                input: json!("x"),
                error_text: "bad".into(),
            },
            UiChunk::ToolOutputAvailable { tool_call_id: call(), output: json!(1), preliminary: Some(true) },
            UiChunk::ToolOutputError { tool_call_id: call(), error_text: "failed".into() },
            UiChunk::SourceUrl { source_id: "s".into(), url: "https://a.example".into(), title: Some("A".into()) },
            UiChunk::Data { name: "network".into(), id: Some("n".into()), data: json!({}), transient: Some(true) },
            UiChunk::Error { error_text: "boom".into() },
            UiChunk::Abort { reason: Some("stopped".into()) },
            UiChunk::Finish { finish_reason: Some(FinishReason::Stop), message_metadata: Some(json!({})) },
            UiChunk::MessageMetadata { message_metadata: json!({}) },
        ];
        for chunk in chunks {
            let part = serde_json::to_value(&chunk).unwrap();
            let found = matching(&alternatives, &part);
            assert_eq!(found.len(), 1, "{part} matches {} alternatives", found.len());
            conforms(found[0], &part);
        }
        assert_eq!(alternatives.len(), 21, "a new stream part needs its schema here");
    }

    #[test]
    fn every_message_part_matches_its_alternative() {
        let schema = serde_json::to_value(MessagePart::schema()).unwrap();
        let alternatives = schema["anyOf"].as_array().cloned().unwrap();
        let parts = [
            MessagePart::text("hi"),
            MessagePart::Reasoning { text: "hm".into() },
            MessagePart::StepStart,
            MessagePart::Tool(ToolPart {
                tool_name: "balance".into(),
                tool_call_id: "call-1".into(),
                state: ToolState::OutputError,
                input: json!({}),
                output: Some(json!(1)),
                error_text: Some("failed".into()),
            }),
            MessagePart::SourceUrl { source_id: "s".into(), url: "https://a.example".into(), title: Some("A".into()) },
            MessagePart::Data { name: "simulation".into(), id: Some("d".into()), data: json!({}) },
        ];
        for message_part in parts {
            let part = serde_json::to_value(&message_part).unwrap();
            let found = matching(&alternatives, &part);
            assert_eq!(found.len(), 1, "{part} matches {} alternatives", found.len());
            conforms(found[0], &part);
        }
    }
}
