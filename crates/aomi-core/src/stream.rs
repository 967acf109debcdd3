//! The parts of the AI SDK UI message stream protocol, v1.
//!
//! Each part travels as one SSE event, `data: {json}`; the response carries the header
//! `x-vercel-ai-ui-message-stream: v1` and ends with `data: [DONE]`. The field names below are the
//! protocol's own (camelCase), checked against the `ai` package's chunk schema.

use serde::{Deserialize, Serialize};
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
///
/// Serde writes it as the protocol does: `{"type": "<kebab-case variant>", <camelCase fields>}`,
/// optional fields left out when absent; `data-<name>` parts, whose tag is not a fixed string, are
/// the one untagged variant, their `type` written and read with its prefix (`data_type` below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum UiChunk {
    /// The assistant message begins.
    Start {
        /// Id of the assistant message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// Metadata attached to the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// The turn failed; the text is shown to the user.
    Error {
        /// A user-safe description of the error.
        error_text: String,
    },
    /// The stream was aborted.
    Abort {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The assistant message is complete.
    Finish {
        /// Why the turn stopped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<FinishReason>,
        /// Metadata attached to the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_metadata: Option<Value>,
    },
    /// Metadata for the message.
    MessageMetadata {
        /// The metadata.
        message_metadata: Value,
    },
    // Untagged variants must come last: serde tries the tagged ones first.
    /// An application-defined part, `data-<name>` on the wire.
    #[serde(untagged)]
    Data {
        /// The name after `data-`.
        #[serde(rename = "type", with = "data_type")]
        name: String,
        /// An id: a later part with the same name and id replaces this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The payload.
        data: Value,
        /// Transient parts are shown live but not kept in the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transient: Option<bool>,
    },
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

    /// True for a piece of a streaming block: `text-delta`, `reasoning-delta`, `tool-input-delta`.
    /// A delta never completes a unit of the message (its block's end does).
    pub fn is_delta(&self) -> bool {
        matches!(self, UiChunk::TextDelta { .. } | UiChunk::ReasoningDelta { .. } | UiChunk::ToolInputDelta { .. })
    }

    /// True for the parts after which nothing follows: `finish` and `abort`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, UiChunk::Finish { .. } | UiChunk::Abort { .. })
    }
}

/// The `type` of a `data-<name>` part: the name, written and read with its `data-` prefix.
mod data_type {
    use serde::{Deserialize, Deserializer, Serializer};

    const PREFIX: &str = "data-";

    pub(super) fn serialize<S: Serializer>(name: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{PREFIX}{name}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let kind = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        match kind.strip_prefix(PREFIX) {
            Some(name) => Ok(name.to_owned()),
            None => Err(serde::de::Error::custom(format!("unknown part type \"{kind}\""))),
        }
    }
}
