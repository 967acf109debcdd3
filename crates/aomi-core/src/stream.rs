//! The parts of the AI SDK UI message stream protocol, v1.
//!
//! Each part travels as one SSE event, `data: {json}`; the response carries the header
//! `x-vercel-ai-ui-message-stream: v1` and ends with `data: [DONE]`. The field names below are the
//! protocol's own (camelCase), checked against the `ai` package's chunk schema.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The header that marks a response as a UI message stream.
pub const STREAM_HEADER: (&str, &str) = ("x-vercel-ai-ui-message-stream", "v1");

/// The literal payload of the event that terminates a UI message stream.
pub const DONE: &str = "[DONE]";

/// Why the model stopped, as the `finish` part reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// The model answered and stopped.
    Stop,
    /// The model hit its output length limit.
    Length,
    /// The provider filtered the content.
    ContentFilter,
    /// The turn stopped on a tool call that waits for the client (a wallet action).
    ToolCalls,
    /// The turn ended with an error.
    Error,
    /// Any other reason (for example the step limit).
    Other,
}

/// One part of a UI message stream.
#[derive(Debug, Clone, PartialEq)]
pub enum UiChunk {
    /// The assistant message begins.
    Start {
        /// Id of the assistant message.
        message_id: Option<String>,
        /// Metadata attached to the message.
        message_metadata: Option<Value>,
    },
    /// One model call (a step) begins.
    StartStep,
    /// One model call (a step) ended.
    FinishStep,
    /// A text block begins.
    TextStart {
        /// Id of the text block.
        id: String,
    },
    /// Text appended to a text block.
    TextDelta {
        /// Id of the text block.
        id: String,
        /// The new text.
        delta: String,
    },
    /// A text block ended.
    TextEnd {
        /// Id of the text block.
        id: String,
    },
    /// A reasoning block begins.
    ReasoningStart {
        /// Id of the reasoning block.
        id: String,
    },
    /// Reasoning text appended to a block.
    ReasoningDelta {
        /// Id of the reasoning block.
        id: String,
        /// The new text.
        delta: String,
    },
    /// A reasoning block ended.
    ReasoningEnd {
        /// Id of the reasoning block.
        id: String,
    },
    /// The model started a tool call; its arguments follow as deltas.
    ToolInputStart {
        /// Id of the tool call.
        tool_call_id: String,
        /// Name of the tool.
        tool_name: String,
    },
    /// A piece of the tool call's JSON arguments.
    ToolInputDelta {
        /// Id of the tool call.
        tool_call_id: String,
        /// The new piece of JSON text.
        input_text_delta: String,
    },
    /// The tool call's arguments are complete.
    ToolInputAvailable {
        /// Id of the tool call.
        tool_call_id: String,
        /// Name of the tool.
        tool_name: String,
        /// The parsed arguments.
        input: Value,
    },
    /// The tool call's arguments could not be parsed or validated.
    ToolInputError {
        /// Id of the tool call.
        tool_call_id: String,
        /// Name of the tool.
        tool_name: String,
        /// The arguments as the model sent them.
        input: Value,
        /// What is wrong with them.
        error_text: String,
    },
    /// The tool ran and produced this output.
    ToolOutputAvailable {
        /// Id of the tool call.
        tool_call_id: String,
        /// The tool's output.
        output: Value,
        /// A preliminary output that a later one replaces.
        preliminary: Option<bool>,
    },
    /// The tool failed; the model sees the same text.
    ToolOutputError {
        /// Id of the tool call.
        tool_call_id: String,
        /// A user-safe description of the failure.
        error_text: String,
    },
    /// A link to a source (for example a web search result).
    SourceUrl {
        /// Id of the source.
        source_id: String,
        /// Its URL.
        url: String,
        /// Its title.
        title: Option<String>,
    },
    /// An application-defined part, `data-<name>` on the wire.
    Data {
        /// The name after `data-`.
        name: String,
        /// An id: a later part with the same name and id replaces this one.
        id: Option<String>,
        /// The payload.
        data: Value,
        /// Transient parts are shown live but not kept in the message.
        transient: Option<bool>,
    },
    /// The turn failed; the text is shown to the user.
    Error {
        /// A user-safe description of the error.
        error_text: String,
    },
    /// The stream was aborted.
    Abort {
        /// Why.
        reason: Option<String>,
    },
    /// The assistant message is complete.
    Finish {
        /// Why the turn stopped.
        finish_reason: Option<FinishReason>,
        /// Metadata attached to the message.
        message_metadata: Option<Value>,
    },
    /// Metadata for the message.
    MessageMetadata {
        /// The metadata.
        message_metadata: Value,
    },
}

/// The serde shape of every part but `data-*`, whose tag is not a fixed string.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")]
enum Wire {
    Start {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_metadata: Option<Value>,
    },
    StartStep,
    FinishStep,
    TextStart {
        id: String,
    },
    TextDelta {
        id: String,
        delta: String,
    },
    TextEnd {
        id: String,
    },
    ReasoningStart {
        id: String,
    },
    ReasoningDelta {
        id: String,
        delta: String,
    },
    ReasoningEnd {
        id: String,
    },
    ToolInputStart {
        tool_call_id: String,
        tool_name: String,
    },
    ToolInputDelta {
        tool_call_id: String,
        input_text_delta: String,
    },
    ToolInputAvailable {
        tool_call_id: String,
        tool_name: String,
        input: Value,
    },
    ToolInputError {
        tool_call_id: String,
        tool_name: String,
        input: Value,
        error_text: String,
    },
    ToolOutputAvailable {
        tool_call_id: String,
        output: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preliminary: Option<bool>,
    },
    ToolOutputError {
        tool_call_id: String,
        error_text: String,
    },
    SourceUrl {
        source_id: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Error {
        error_text: String,
    },
    Abort {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Finish {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<FinishReason>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_metadata: Option<Value>,
    },
    MessageMetadata {
        message_metadata: Value,
    },
}

#[derive(Serialize, Deserialize)]
struct DataWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transient: Option<bool>,
}

/// A part in one of its two serde shapes.
enum Either {
    Known(Wire),
    Data(DataWire),
}

impl UiChunk {
    /// A `data-<name>` part.
    pub fn data(name: impl Into<String>, data: Value) -> Self {
        UiChunk::Data { name: name.into(), id: None, data, transient: None }
    }

    /// The part as the JSON text of one SSE `data:` line.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every field is a string, a bool or a `Value`.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// True for the parts after which nothing follows: `finish` and `abort`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, UiChunk::Finish { .. } | UiChunk::Abort { .. })
    }

    fn into_wire(self) -> Either {
        Either::Known(match self {
            UiChunk::Start { message_id, message_metadata } => Wire::Start { message_id, message_metadata },
            UiChunk::StartStep => Wire::StartStep,
            UiChunk::FinishStep => Wire::FinishStep,
            UiChunk::TextStart { id } => Wire::TextStart { id },
            UiChunk::TextDelta { id, delta } => Wire::TextDelta { id, delta },
            UiChunk::TextEnd { id } => Wire::TextEnd { id },
            UiChunk::ReasoningStart { id } => Wire::ReasoningStart { id },
            UiChunk::ReasoningDelta { id, delta } => Wire::ReasoningDelta { id, delta },
            UiChunk::ReasoningEnd { id } => Wire::ReasoningEnd { id },
            UiChunk::ToolInputStart { tool_call_id, tool_name } => Wire::ToolInputStart { tool_call_id, tool_name },
            UiChunk::ToolInputDelta { tool_call_id, input_text_delta } => {
                Wire::ToolInputDelta { tool_call_id, input_text_delta }
            }
            UiChunk::ToolInputAvailable { tool_call_id, tool_name, input } => {
                Wire::ToolInputAvailable { tool_call_id, tool_name, input }
            }
            UiChunk::ToolInputError { tool_call_id, tool_name, input, error_text } => {
                Wire::ToolInputError { tool_call_id, tool_name, input, error_text }
            }
            UiChunk::ToolOutputAvailable { tool_call_id, output, preliminary } => {
                Wire::ToolOutputAvailable { tool_call_id, output, preliminary }
            }
            UiChunk::ToolOutputError { tool_call_id, error_text } => Wire::ToolOutputError { tool_call_id, error_text },
            UiChunk::SourceUrl { source_id, url, title } => Wire::SourceUrl { source_id, url, title },
            UiChunk::Error { error_text } => Wire::Error { error_text },
            UiChunk::Abort { reason } => Wire::Abort { reason },
            UiChunk::Finish { finish_reason, message_metadata } => Wire::Finish { finish_reason, message_metadata },
            UiChunk::MessageMetadata { message_metadata } => Wire::MessageMetadata { message_metadata },
            UiChunk::Data { name, id, data, transient } => {
                return Either::Data(DataWire { kind: format!("data-{name}"), id, data, transient });
            }
        })
    }

    fn from_wire(wire: Wire) -> Self {
        match wire {
            Wire::Start { message_id, message_metadata } => UiChunk::Start { message_id, message_metadata },
            Wire::StartStep => UiChunk::StartStep,
            Wire::FinishStep => UiChunk::FinishStep,
            Wire::TextStart { id } => UiChunk::TextStart { id },
            Wire::TextDelta { id, delta } => UiChunk::TextDelta { id, delta },
            Wire::TextEnd { id } => UiChunk::TextEnd { id },
            Wire::ReasoningStart { id } => UiChunk::ReasoningStart { id },
            Wire::ReasoningDelta { id, delta } => UiChunk::ReasoningDelta { id, delta },
            Wire::ReasoningEnd { id } => UiChunk::ReasoningEnd { id },
            Wire::ToolInputStart { tool_call_id, tool_name } => UiChunk::ToolInputStart { tool_call_id, tool_name },
            Wire::ToolInputDelta { tool_call_id, input_text_delta } => {
                UiChunk::ToolInputDelta { tool_call_id, input_text_delta }
            }
            Wire::ToolInputAvailable { tool_call_id, tool_name, input } => {
                UiChunk::ToolInputAvailable { tool_call_id, tool_name, input }
            }
            Wire::ToolInputError { tool_call_id, tool_name, input, error_text } => {
                UiChunk::ToolInputError { tool_call_id, tool_name, input, error_text }
            }
            Wire::ToolOutputAvailable { tool_call_id, output, preliminary } => {
                UiChunk::ToolOutputAvailable { tool_call_id, output, preliminary }
            }
            Wire::ToolOutputError { tool_call_id, error_text } => UiChunk::ToolOutputError { tool_call_id, error_text },
            Wire::SourceUrl { source_id, url, title } => UiChunk::SourceUrl { source_id, url, title },
            Wire::Error { error_text } => UiChunk::Error { error_text },
            Wire::Abort { reason } => UiChunk::Abort { reason },
            Wire::Finish { finish_reason, message_metadata } => UiChunk::Finish { finish_reason, message_metadata },
            Wire::MessageMetadata { message_metadata } => UiChunk::MessageMetadata { message_metadata },
        }
    }
}

impl Serialize for UiChunk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.clone().into_wire() {
            Either::Known(wire) => wire.serialize(serializer),
            Either::Data(data) => data.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for UiChunk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some(name) = kind.strip_prefix("data-") {
            let name = name.to_owned();
            let wire: DataWire = serde_json::from_value(value).map_err(serde::de::Error::custom)?;
            return Ok(UiChunk::Data { name, id: wire.id, data: wire.data, transient: wire.transient });
        }
        let wire: Wire = serde_json::from_value(value).map_err(serde::de::Error::custom)?;
        Ok(UiChunk::from_wire(wire))
    }
}
