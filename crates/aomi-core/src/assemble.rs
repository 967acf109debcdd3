//! Folds UI message stream parts into the assistant message they describe.
//!
//! The server runs every part of a turn through a [`MessageAssembler`] so that what it stores is
//! exactly what a client that read the stream holds, and it commits the message each time
//! [`MessageAssembler::apply`] reports that a unit of work (a text block, a tool call, a tool result,
//! a step) completed.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::message::{ChatMessage, MessagePart, ToolPart, ToolState};
use crate::stream::UiChunk;

/// Builds an assistant [`ChatMessage`] from stream parts.
#[derive(Debug, Clone)]
pub struct MessageAssembler {
    message: ChatMessage,
    text_blocks: HashMap<String, usize>,
    reasoning_blocks: HashMap<String, usize>,
    tool_parts: HashMap<String, usize>,
    tool_input_text: HashMap<String, String>,
}

impl MessageAssembler {
    /// Starts from `message`: an empty assistant message, or one being continued (for example after
    /// the client returned a wallet tool's outcome).
    pub fn new(message: ChatMessage) -> Self {
        let tool_parts = message
            .parts
            .iter()
            .enumerate()
            .filter_map(|(index, part)| match part {
                MessagePart::Tool(tool) => Some((tool.tool_call_id.clone(), index)),
                _ => None,
            })
            .collect();
        MessageAssembler {
            message,
            text_blocks: HashMap::new(),
            reasoning_blocks: HashMap::new(),
            tool_parts,
            tool_input_text: HashMap::new(),
        }
    }

    /// The message so far.
    pub fn message(&self) -> &ChatMessage {
        &self.message
    }

    /// Mutable access to the message so far (to set metadata).
    pub fn message_mut(&mut self) -> &mut ChatMessage {
        &mut self.message
    }

    /// Takes the message.
    pub fn into_message(self) -> ChatMessage {
        self.message
    }

    /// Applies one part. Returns true when the part completed something worth storing now.
    pub fn apply(&mut self, chunk: &UiChunk) -> bool {
        match chunk {
            UiChunk::Start { message_metadata, .. } | UiChunk::Finish { message_metadata, .. } => {
                if let Some(meta) = message_metadata {
                    self.merge_metadata(meta);
                }
                matches!(chunk, UiChunk::Finish { .. })
            }
            UiChunk::MessageMetadata { message_metadata } => {
                self.merge_metadata(message_metadata);
                false
            }
            UiChunk::StartStep => {
                self.message.parts.push(MessagePart::StepStart);
                false
            }
            UiChunk::FinishStep => true,
            UiChunk::TextStart { id } => {
                self.text_blocks.insert(id.clone(), self.message.parts.len());
                self.message.parts.push(MessagePart::text(""));
                false
            }
            UiChunk::TextDelta { id, delta } => {
                let index = self.block_index(id, false);
                if let Some(MessagePart::Text { text }) = self.message.parts.get_mut(index) {
                    text.push_str(delta);
                }
                false
            }
            UiChunk::TextEnd { .. } | UiChunk::ReasoningEnd { .. } => true,
            UiChunk::ReasoningStart { id } => {
                self.reasoning_blocks.insert(id.clone(), self.message.parts.len());
                self.message.parts.push(MessagePart::Reasoning { text: String::new() });
                false
            }
            UiChunk::ReasoningDelta { id, delta } => {
                let index = self.block_index(id, true);
                if let Some(MessagePart::Reasoning { text }) = self.message.parts.get_mut(index) {
                    text.push_str(delta);
                }
                false
            }
            UiChunk::ToolInputStart { tool_call_id, tool_name } => {
                self.tool(tool_call_id, tool_name).state = ToolState::InputStreaming;
                false
            }
            UiChunk::ToolInputDelta { tool_call_id, input_text_delta } => {
                self.tool_input_text.entry(tool_call_id.clone()).or_default().push_str(input_text_delta);
                false
            }
            UiChunk::ToolInputAvailable { tool_call_id, tool_name, input } => {
                let tool = self.tool(tool_call_id, tool_name);
                tool.state = ToolState::InputAvailable;
                tool.input = input.clone();
                self.tool_input_text.remove(tool_call_id);
                true
            }
            UiChunk::ToolInputError { tool_call_id, tool_name, input, error_text } => {
                let tool = self.tool(tool_call_id, tool_name);
                tool.state = ToolState::OutputError;
                tool.input = input.clone();
                tool.error_text = Some(error_text.clone());
                self.tool_input_text.remove(tool_call_id);
                true
            }
            UiChunk::ToolOutputAvailable { tool_call_id, output, preliminary } => {
                if let Some(tool) = self.existing_tool(tool_call_id) {
                    tool.output = Some(output.clone());
                    if preliminary != &Some(true) {
                        tool.state = ToolState::OutputAvailable;
                    }
                }
                preliminary != &Some(true)
            }
            UiChunk::ToolOutputError { tool_call_id, error_text } => {
                if let Some(tool) = self.existing_tool(tool_call_id) {
                    tool.state = ToolState::OutputError;
                    tool.error_text = Some(error_text.clone());
                }
                true
            }
            UiChunk::SourceUrl { source_id, url, title } => {
                self.message.parts.push(MessagePart::SourceUrl {
                    source_id: source_id.clone(),
                    url: url.clone(),
                    title: title.clone(),
                });
                false
            }
            UiChunk::Data { transient: Some(true), .. } => false,
            UiChunk::Data { name, id, data, .. } => {
                let existing = id.as_ref().and_then(|id| {
                    self.message.parts.iter_mut().find(
                        |part| matches!(part, MessagePart::Data { name: n, id: Some(i), .. } if n == name && i == id),
                    )
                });
                match existing {
                    Some(MessagePart::Data { data: old, .. }) => *old = data.clone(),
                    _ => self.message.parts.push(MessagePart::Data {
                        name: name.clone(),
                        id: id.clone(),
                        data: data.clone(),
                    }),
                }
                true
            }
            UiChunk::Error { error_text } => {
                self.message.parts.push(MessagePart::Data {
                    name: "error".into(),
                    id: None,
                    data: json!({ "message": error_text }),
                });
                true
            }
            UiChunk::Abort { .. } => {
                self.message.mark_incomplete();
                true
            }
        }
    }

    fn merge_metadata(&mut self, meta: &Value) {
        match (&mut self.message.metadata, meta) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                old.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            (slot, meta) => *slot = Some(meta.clone()),
        }
    }

    /// The part index of a text or reasoning block; a delta for an unknown block opens one, so a
    /// client that missed the start loses no text.
    fn block_index(&mut self, id: &str, reasoning: bool) -> usize {
        let blocks = if reasoning { &mut self.reasoning_blocks } else { &mut self.text_blocks };
        if let Some(index) = blocks.get(id) {
            return *index;
        }
        let index = self.message.parts.len();
        blocks.insert(id.to_owned(), index);
        self.message.parts.push(if reasoning {
            MessagePart::Reasoning { text: String::new() }
        } else {
            MessagePart::text("")
        });
        index
    }

    fn existing_tool(&mut self, tool_call_id: &str) -> Option<&mut ToolPart> {
        let index = *self.tool_parts.get(tool_call_id)?;
        match self.message.parts.get_mut(index) {
            Some(MessagePart::Tool(tool)) => Some(tool),
            _ => None,
        }
    }

    fn tool(&mut self, tool_call_id: &str, tool_name: &str) -> &mut ToolPart {
        if !self.tool_parts.contains_key(tool_call_id) {
            self.tool_parts.insert(tool_call_id.to_owned(), self.message.parts.len());
            self.message.parts.push(MessagePart::Tool(ToolPart {
                tool_name: tool_name.to_owned(),
                tool_call_id: tool_call_id.to_owned(),
                state: ToolState::InputStreaming,
                input: Value::Null,
                output: None,
                error_text: None,
            }));
        }
        let index = self.tool_parts[tool_call_id];
        match &mut self.message.parts[index] {
            MessagePart::Tool(tool) => tool,
            // The index map only ever points at tool parts.
            _ => unreachable!("tool index points at a tool part"),
        }
    }
}
