//! A stored message as stream parts: what a client that re-attaches to a turn must be sent first
//! when the turn continues a message (after a client tool's answer), since the AI SDK takes a
//! resumed stream for the whole message. [`MessageAssembler`](crate::MessageAssembler) folds these
//! parts back into the same message.

use crate::message::{MessagePart, ToolState};
use crate::stream::UiChunk;

/// The parts that rebuild `parts` on a client, steps closed; parts a stream cannot carry
/// ([`MessagePart::Other`]) are left out.
pub fn message_chunks(parts: &[MessagePart]) -> Vec<UiChunk> {
    let mut chunks = Vec::new();
    let mut in_step = false;
    for (index, part) in parts.iter().enumerate() {
        let id = format!("replay-{index}");
        match part {
            MessagePart::StepStart => {
                if in_step {
                    chunks.push(UiChunk::FinishStep);
                }
                chunks.push(UiChunk::StartStep);
                in_step = true;
            }
            MessagePart::Text { text } => chunks.extend([
                UiChunk::TextStart { id: id.clone() },
                UiChunk::TextDelta { id: id.clone(), delta: text.clone() },
                UiChunk::TextEnd { id },
            ]),
            MessagePart::Reasoning { text } => chunks.extend([
                UiChunk::ReasoningStart { id: id.clone() },
                UiChunk::ReasoningDelta { id: id.clone(), delta: text.clone() },
                UiChunk::ReasoningEnd { id },
            ]),
            MessagePart::Tool(tool) => {
                let (tool_call_id, tool_name) = (tool.tool_call_id.clone(), tool.tool_name.clone());
                if tool.state == ToolState::InputStreaming {
                    chunks.push(UiChunk::ToolInputStart { tool_call_id, tool_name });
                    continue;
                }
                chunks.push(UiChunk::ToolInputAvailable {
                    tool_call_id: tool_call_id.clone(),
                    tool_name,
                    input: tool.input.clone(),
                });
                match tool.state {
                    ToolState::OutputAvailable => chunks.push(UiChunk::ToolOutputAvailable {
                        tool_call_id,
                        output: tool.output.clone().unwrap_or_default(),
                        preliminary: None,
                    }),
                    ToolState::OutputError => chunks.push(UiChunk::ToolOutputError {
                        tool_call_id,
                        error_text: tool.error_text.clone().unwrap_or_default(),
                    }),
                    ToolState::InputStreaming | ToolState::InputAvailable => {}
                }
            }
            MessagePart::SourceUrl { source_id, url, title } => {
                chunks.push(UiChunk::SourceUrl { source_id: source_id.clone(), url: url.clone(), title: title.clone() })
            }
            MessagePart::Data { name, id, data } => {
                chunks.push(UiChunk::Data { name: name.clone(), id: id.clone(), data: data.clone(), transient: None })
            }
            MessagePart::Other(_) => {}
        }
    }
    if in_step {
        chunks.push(UiChunk::FinishStep);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::MessageAssembler;
    use crate::message::{ChatMessage, ToolPart};

    fn tool(id: &str, state: ToolState) -> MessagePart {
        MessagePart::Tool(ToolPart {
            tool_name: "send_transaction_to_wallet".into(),
            tool_call_id: id.into(),
            state,
            input: json!({ "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "1" }),
            output: (state == ToolState::OutputAvailable).then(|| json!({ "transactionHash": "0xabc" })),
            error_text: (state == ToolState::OutputError).then(|| "rejected".to_owned()),
        })
    }

    #[test]
    fn the_chunks_fold_back_into_the_same_message() {
        let parts = vec![
            MessagePart::StepStart,
            MessagePart::Reasoning { text: "The user wants to pay.".into() },
            MessagePart::text("I prepared the **transfer**."),
            MessagePart::Data { name: "simulation".into(), id: Some("c1".into()), data: json!({ "success": true }) },
            tool("c1", ToolState::OutputAvailable),
            MessagePart::StepStart,
            MessagePart::text("Sent."),
            tool("c2", ToolState::OutputError),
            tool("c3", ToolState::InputAvailable),
            MessagePart::SourceUrl { source_id: "s".into(), url: "https://example.org".into(), title: None },
        ];
        let chunks = message_chunks(&parts);
        let mut assembler = MessageAssembler::new(ChatMessage::assistant("m"));
        for chunk in &chunks {
            assembler.apply(chunk);
        }
        assert_eq!(assembler.into_message().parts, parts);
        // Steps are closed, in order.
        let steps: Vec<&UiChunk> =
            chunks.iter().filter(|c| matches!(c, UiChunk::StartStep | UiChunk::FinishStep)).collect();
        assert_eq!(steps, [&UiChunk::StartStep, &UiChunk::FinishStep, &UiChunk::StartStep, &UiChunk::FinishStep]);
    }

    #[test]
    fn nothing_to_replay_is_no_parts() {
        assert!(message_chunks(&[]).is_empty());
        assert!(message_chunks(&[MessagePart::Other(json!({ "type": "x" }))]).is_empty());
    }
}
