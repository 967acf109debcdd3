//! A chat message and its parts, shaped like the AI SDK's `UIMessage`.
//!
//! The server stores messages in this shape and the browser renders the same JSON, so history needs
//! no translation on its way out. Parts this crate does not model (files, source documents, …) are
//! kept verbatim as [`MessagePart::Other`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person.
    User,
    /// The assistant: text, tool calls and their results.
    Assistant,
}

impl Role {
    /// The role's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    /// Unique id of the message.
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// Its content, in order.
    #[serde(default)]
    pub parts: Vec<MessagePart>,
    /// Free-form metadata; aomi sets `{"incomplete": true}` on an answer that was cut off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl ChatMessage {
    /// A user message holding one text part.
    pub fn user_text(id: impl Into<String>, text: impl Into<String>) -> Self {
        ChatMessage { id: id.into(), role: Role::User, parts: vec![MessagePart::text(text)], metadata: None }
    }

    /// An empty assistant message.
    pub fn assistant(id: impl Into<String>) -> Self {
        ChatMessage { id: id.into(), role: Role::Assistant, parts: Vec::new(), metadata: None }
    }

    /// The message's text parts joined together.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|part| match part {
                MessagePart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool parts of the message.
    pub fn tool_parts(&self) -> impl Iterator<Item = &ToolPart> {
        self.parts.iter().filter_map(|part| match part {
            MessagePart::Tool(tool) => Some(tool),
            _ => None,
        })
    }

    /// True when the message was marked incomplete (a turn cut off by an error or a crash).
    pub fn is_incomplete(&self) -> bool {
        self.metadata.as_ref().and_then(|m| m.get("incomplete")).and_then(Value::as_bool) == Some(true)
    }

    /// Marks the message incomplete, keeping other metadata.
    pub fn mark_incomplete(&mut self) {
        let mut meta = match self.metadata.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        meta.insert("incomplete".into(), Value::Bool(true));
        self.metadata = Some(Value::Object(meta));
    }
}

/// Where a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ToolState {
    /// The model is still writing the arguments.
    InputStreaming,
    /// The arguments are complete; the tool runs (or waits for the client).
    InputAvailable,
    /// The tool produced its output.
    OutputAvailable,
    /// The tool failed, or its arguments were invalid.
    OutputError,
}

/// A tool call and, once known, its result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolPart {
    /// Name of the tool (the part's type on the wire is `tool-<name>`).
    pub tool_name: String,
    /// Id of the call, unique within the chat.
    pub tool_call_id: String,
    /// Where the call stands.
    pub state: ToolState,
    /// The arguments (JSON; `null` while they stream).
    pub input: Value,
    /// The output, once available.
    pub output: Option<Value>,
    /// The error text, in state `output-error`.
    pub error_text: Option<String>,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum MessagePart {
    /// Text (Markdown).
    Text {
        /// The text.
        text: String,
    },
    /// The model's visible reasoning.
    Reasoning {
        /// The text.
        text: String,
    },
    /// The boundary between two model calls of one assistant message.
    StepStart,
    /// A tool call with its result.
    Tool(ToolPart),
    /// A link to a source.
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
        /// Its id, if any.
        id: Option<String>,
        /// The payload.
        data: Value,
    },
    /// A part kept verbatim.
    Other(Value),
}

impl MessagePart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        MessagePart::Text { text: text.into() }
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_owned(), value);
        };
        match self {
            MessagePart::Text { text } => {
                put("type", "text".into());
                put("text", text.clone().into());
            }
            MessagePart::Reasoning { text } => {
                put("type", "reasoning".into());
                put("text", text.clone().into());
            }
            MessagePart::StepStart => put("type", "step-start".into()),
            MessagePart::Tool(tool) => {
                put("type", format!("tool-{}", tool.tool_name).into());
                put("toolCallId", tool.tool_call_id.clone().into());
                put("state", serde_json::to_value(tool.state).unwrap_or(Value::Null));
                put("input", tool.input.clone());
                if let Some(output) = &tool.output {
                    put("output", output.clone());
                }
                if let Some(error) = &tool.error_text {
                    put("errorText", error.clone().into());
                }
            }
            MessagePart::SourceUrl { source_id, url, title } => {
                put("type", "source-url".into());
                put("sourceId", source_id.clone().into());
                put("url", url.clone().into());
                if let Some(title) = title {
                    put("title", title.clone().into());
                }
            }
            MessagePart::Data { name, id, data } => {
                put("type", format!("data-{name}").into());
                if let Some(id) = id {
                    put("id", id.clone().into());
                }
                put("data", data.clone());
            }
            MessagePart::Other(value) => return value.clone(),
        }
        Value::Object(map)
    }

    fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("a message part must be a JSON object".into());
        };
        let kind = map.get("type").and_then(Value::as_str).ok_or("a message part needs a string \"type\"")?;
        let string = |key: &str| -> Result<String, String> {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("part \"{kind}\" needs a string \"{key}\""))
        };
        let optional = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(match kind {
            "text" => MessagePart::Text { text: string("text")? },
            "reasoning" => MessagePart::Reasoning { text: string("text")? },
            "step-start" => MessagePart::StepStart,
            "source-url" => {
                MessagePart::SourceUrl { source_id: string("sourceId")?, url: string("url")?, title: optional("title") }
            }
            "dynamic-tool" => MessagePart::Tool(tool_part(string("toolName")?, &map, kind)?),
            _ => {
                if let Some(name) = kind.strip_prefix("tool-") {
                    MessagePart::Tool(tool_part(name.to_owned(), &map, kind)?)
                } else if let Some(name) = kind.strip_prefix("data-") {
                    MessagePart::Data {
                        name: name.to_owned(),
                        id: optional("id"),
                        data: map.get("data").cloned().unwrap_or(Value::Null),
                    }
                } else {
                    MessagePart::Other(Value::Object(map))
                }
            }
        })
    }
}

fn tool_part(tool_name: String, map: &Map<String, Value>, kind: &str) -> Result<ToolPart, String> {
    let tool_call_id = map
        .get("toolCallId")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("part \"{kind}\" needs a string \"toolCallId\""))?
        .to_owned();
    let state = map
        .get("state")
        .cloned()
        .map(serde_json::from_value::<ToolState>)
        .transpose()
        .map_err(|e| format!("part \"{kind}\" has an unknown state: {e}"))?
        .unwrap_or(ToolState::InputAvailable);
    Ok(ToolPart {
        tool_name,
        tool_call_id,
        state,
        input: map.get("input").cloned().unwrap_or(Value::Null),
        output: map.get("output").cloned(),
        error_text: map.get("errorText").and_then(Value::as_str).map(str::to_owned),
    })
}

impl Serialize for MessagePart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MessagePart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        MessagePart::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}
