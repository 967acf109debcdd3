//! Reading the conversation out of a request body, for both protocols.

use serde_json::Value;

use crate::script::Conversation;

/// One message as the rules see it.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// A user message with text (or other user content) and no tool result.
    UserText(String),
    /// Tool results: an Anthropic user message with `tool_result` blocks or
    /// an OpenAI `role: "tool"` message.
    ToolResults(String),
    /// Anything the model said.
    Assistant,
}

/// The conversation of an Anthropic Messages request body.
pub(crate) fn anthropic(body: &Value) -> Conversation {
    let turns = messages(body)
        .iter()
        .filter_map(|message| {
            let role = message.get("role").and_then(Value::as_str)?;
            match role {
                "assistant" => Some(Turn::Assistant),
                "user" => Some(anthropic_user(message.get("content"))),
                _ => None,
            }
        })
        .collect::<Vec<_>>();
    summarise(&turns)
}

/// An Anthropic user message: tool results when it carries any, else text.
fn anthropic_user(content: Option<&Value>) -> Turn {
    let Some(Value::Array(blocks)) = content else {
        return Turn::UserText(text_of(content));
    };
    let results = blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|block| text_of(block.get("content")))
        .collect::<Vec<_>>();
    if results.is_empty() { Turn::UserText(text_of(content)) } else { Turn::ToolResults(results.join("\n")) }
}

/// The conversation of an OpenAI chat-completions request body.
pub(crate) fn openai(body: &Value) -> Conversation {
    let turns = messages(body)
        .iter()
        .filter_map(|message| {
            let role = message.get("role").and_then(Value::as_str)?;
            match role {
                "assistant" => Some(Turn::Assistant),
                "user" => Some(Turn::UserText(text_of(message.get("content")))),
                "tool" | "function" => Some(Turn::ToolResults(text_of(message.get("content")))),
                // System and developer messages are instructions, not turns.
                _ => None,
            }
        })
        .collect::<Vec<_>>();
    summarise(&turns)
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The text of a message or tool-result content: a string as it is, or the
/// `text` of each text part of an array, joined by newlines.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                part => part.get("text").and_then(Value::as_str),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn summarise(turns: &[Turn]) -> Conversation {
    let last_user_text = turns.iter().rev().find_map(|turn| match turn {
        Turn::UserText(text) => Some(text.clone()),
        _ => None,
    });
    let trailing = turns
        .iter()
        .rev()
        .map_while(|turn| match turn {
            Turn::ToolResults(text) => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>();
    let last_tool_result = (!trailing.is_empty()).then(|| {
        let mut in_order = trailing;
        in_order.reverse();
        in_order.join("\n")
    });
    Conversation {
        last_user_text,
        last_tool_result,
        ends_with_user_text: matches!(turns.last(), Some(Turn::UserText(_))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn anthropic_tool_result_after_user_text() {
        let body = json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "what is my balance"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "b", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "1 ETH"}]}]}
        ]});
        let conversation = anthropic(&body);
        assert_eq!(conversation.last_user_text.as_deref(), Some("what is my balance"));
        assert_eq!(conversation.last_tool_result.as_deref(), Some("1 ETH"));
        assert!(!conversation.ends_with_user_text);
    }

    #[test]
    fn anthropic_string_content_and_old_results() {
        let body = json!({"messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "old"}]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "next question"}
        ]});
        let conversation = anthropic(&body);
        assert_eq!(conversation.last_user_text.as_deref(), Some("next question"));
        assert_eq!(conversation.last_tool_result, None);
        assert!(conversation.ends_with_user_text);
    }

    #[test]
    fn openai_trailing_tool_messages_join() {
        let body = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "two things"}]},
            {"role": "assistant", "content": null, "tool_calls": []},
            {"role": "tool", "tool_call_id": "call_1", "content": "first"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "second"}]}
        ]});
        let conversation = openai(&body);
        assert_eq!(conversation.last_user_text.as_deref(), Some("two things"));
        assert_eq!(conversation.last_tool_result.as_deref(), Some("first\nsecond"));
        assert!(!conversation.ends_with_user_text);
    }
}
