//! Chat history ([`ChatMessage`]s in the AI SDK shape) as rig messages.
//!
//! - A user message becomes a user message with its text parts.
//! - An assistant message is cut into steps, one per model call: at each
//!   `StepStart` part, and also where text follows a tool call (text written
//!   after a tool ran belongs to the next call even when no `StepStart` marks
//!   it). Each step becomes an assistant message (its text, then its tool
//!   calls) followed by a user message with the calls' results.
//! - A result is the tool's `output` as text (a JSON string as itself, any
//!   other JSON value serialised), or its `error_text` marked as an error. A
//!   call that never got an outcome (a wallet request nobody answered, a turn
//!   cut off) gets an error result saying it was not completed, so the
//!   provider never sees a call without a result.
//! - Reasoning, `Data`, `SourceUrl` and `Other` parts are not sent back; blank
//!   text is dropped, and a message left with nothing is dropped.
//! - Neighbouring messages of the same role are merged, so roles alternate
//!   and every tool result comes right after the call it answers (Anthropic's
//!   rules; OpenAI accepts the same shape).
//! - System messages in the history are returned apart, to be appended to the
//!   system prompt.
//!
//! Before the conversion, [`within_budget`] leaves out the oldest messages of a history larger
//! than a token budget, with a note in their place.

use aomi_core::{ChatMessage, MessagePart, Role, ToolPart, ToolState};
use rig::message::{
    AssistantContent, AssistantMessage, CallId, Message, ToolCall, ToolFunction, ToolName, ToolResultContent,
    UserContent,
};
use serde_json::Value;

/// The result text of a tool call that never got an outcome.
pub(crate) const NOT_COMPLETED: &str =
    "The tool call was not completed: no result was received (it was not sent, or the turn was cut off).";

/// The result text of a tool whose output was empty.
const EMPTY_OUTPUT: &str = "(the tool returned no output)";

/// The note that stands in place of the messages [`within_budget`] left out (`{n}`: how many).
pub const LEFT_OUT_NOTE: &str = "The {n} earliest messages of this chat were left out to keep within the context \
budget; you do not see them. If the user refers to something you cannot find, say so and ask.";

/// A message's estimated tokens: the bytes of its JSON divided by four (the common rule of thumb;
/// the cut only needs the order of magnitude, and JSON overstates rather than understates).
pub fn estimate_tokens(message: &ChatMessage) -> usize {
    serde_json::to_vec(message).map_or(0, |json| json.len()).div_ceil(4)
}

/// `history` within about `budget` tokens (see [`estimate_tokens`]): the newest messages whole,
/// the oldest beyond the budget left out, and a system note in their place saying so. The last
/// user message and everything after it (the turn being answered) always stay, even over the
/// budget, and the kept part starts at a user message, as providers want. The
/// [`Compactor`](crate::compaction::Compactor) folds what this would leave out into a summary,
/// and falls back to this when its model fails.
///
/// System messages at the start of `history` (a chat's summary, see [`crate::compaction`]) are
/// kept before the note and count against the budget.
pub fn within_budget(mut history: Vec<ChatMessage>, budget: usize) -> Vec<ChatMessage> {
    let leading = history.iter().take_while(|m| m.role == Role::System).count();
    if leading > 0 {
        let rest = history.split_off(leading);
        let spent: usize = history.iter().map(estimate_tokens).sum();
        history.extend(within_budget(rest, budget.saturating_sub(spent)));
        return history;
    }
    let costs: Vec<usize> = history.iter().map(estimate_tokens).collect();
    if costs.iter().sum::<usize>() <= budget {
        return history;
    }
    let last_user = history.iter().rposition(|m| m.role == Role::User).unwrap_or(0);
    let mut spent: usize = costs[last_user..].iter().sum();
    let mut start = last_user;
    while start > 0 && spent + costs[start - 1] <= budget {
        start -= 1;
        spent += costs[start];
    }
    while start < last_user && history[start].role != Role::User {
        start += 1;
    }
    if start == 0 {
        return history;
    }
    let note = LEFT_OUT_NOTE.replace("{n}", &start.to_string());
    let mut kept = Vec::with_capacity(history.len() - start + 1);
    kept.push(ChatMessage {
        id: "history-left-out".into(),
        role: Role::System,
        parts: vec![aomi_core::MessagePart::text(note)],
        metadata: None,
    });
    kept.extend(history.into_iter().skip(start));
    kept
}

/// A history converted for rig.
#[derive(Debug, Default)]
pub struct Converted {
    /// Text of the history's system messages, in order.
    pub system: Vec<String>,
    /// The conversation.
    pub messages: Vec<Message>,
}

/// Converts `history` (see the module doc for the rules).
pub fn convert(history: &[ChatMessage]) -> Converted {
    let mut converted = Converted::default();
    for message in history {
        match message.role {
            Role::System => {
                let text = message.text();
                if !text.trim().is_empty() {
                    converted.system.push(text);
                }
            }
            Role::User => {
                let content: Vec<UserContent> = message
                    .parts
                    .iter()
                    .filter_map(|part| match part {
                        MessagePart::Text { text } if !text.trim().is_empty() => Some(UserContent::text(text.clone())),
                        _ => None,
                    })
                    .collect();
                push_user(&mut converted.messages, content);
            }
            Role::Assistant => {
                for step in steps(&message.parts) {
                    convert_step(&mut converted.messages, &step);
                }
            }
        }
    }
    converted
}

/// The parts of an assistant message, cut into the model calls they came from.
fn steps(parts: &[MessagePart]) -> Vec<Vec<&MessagePart>> {
    let mut steps: Vec<Vec<&MessagePart>> = vec![Vec::new()];
    for part in parts {
        let new_step = match part {
            MessagePart::StepStart => true,
            MessagePart::Text { text } if !text.trim().is_empty() => {
                steps.last().is_some_and(|step| step.iter().any(|part| matches!(part, MessagePart::Tool(_))))
            }
            _ => false,
        };
        if new_step {
            steps.push(Vec::new());
        }
        if let (Some(step), false) = (steps.last_mut(), matches!(part, MessagePart::StepStart)) {
            step.push(part);
        }
    }
    steps
}

/// One step: an assistant message with its text and calls, then the results.
fn convert_step(messages: &mut Vec<Message>, step: &[&MessagePart]) {
    let mut text = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for part in step {
        match part {
            MessagePart::Text { text: part } if !part.trim().is_empty() => {
                text.push(AssistantContent::text(part.clone()));
            }
            MessagePart::Tool(tool) => {
                let Ok(name) = ToolName::new(tool.tool_name.clone()) else {
                    tracing::warn!(call = %tool.tool_call_id, "skipping a tool call without a name in the history");
                    continue;
                };
                let call = ToolCall::new(
                    CallId::from_wire(wire_id(&tool.tool_call_id)),
                    ToolFunction::new(name, tool.input.clone()),
                );
                results.push(UserContent::ToolResult(result(&call, tool)));
                calls.push(AssistantContent::ToolCall(call));
            }
            _ => {}
        }
    }
    text.extend(calls);
    if text.is_empty() {
        return;
    }
    push_assistant(messages, text);
    push_user(messages, results);
}

/// The result a provider sees for `tool`.
fn result(call: &ToolCall, tool: &ToolPart) -> rig::message::ToolResult {
    let failed = tool.state == ToolState::OutputError || (tool.output.is_none() && tool.error_text.is_some());
    if failed {
        let reason = tool.error_text.as_deref().filter(|text| !text.trim().is_empty()).unwrap_or("the tool failed");
        return call.error_result(vec![ToolResultContent::text(format!("Error: {reason}"))]);
    }
    match &tool.output {
        Some(output) => {
            let text = match output {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let text = if text.trim().is_empty() { EMPTY_OUTPUT.to_owned() } else { text };
            call.result(vec![ToolResultContent::text(text)])
        }
        None => call.error_result(vec![ToolResultContent::text(NOT_COMPLETED)]),
    }
}

/// A call id both providers accept (`[a-zA-Z0-9_-]`, as Anthropic requires):
/// other characters become `_`. An empty id stays empty, and rig issues one.
fn wire_id(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

fn push_user(messages: &mut Vec<Message>, content: Vec<UserContent>) {
    if content.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(Message::User { content: last }) => last.extend(content),
        _ => messages.push(Message::User { content }),
    }
}

fn push_assistant(messages: &mut Vec<Message>, content: Vec<AssistantContent>) {
    match messages.last_mut() {
        Some(Message::Assistant(last)) => last.content.extend(content),
        _ => messages.push(Message::Assistant(AssistantMessage::new(content))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_history_over_its_budget_loses_its_oldest_messages_and_says_so() {
        let text = "x".repeat(396);
        let mut history = Vec::new();
        for n in 0..10 {
            history.push(ChatMessage::user_text(format!("u{n}"), format!("{n}{text}")));
            history.push(ChatMessage {
                parts: vec![MessagePart::text(format!("answer {n}{text}"))],
                ..ChatMessage::assistant(format!("a{n}"))
            });
        }
        let each = estimate_tokens(&history[0]);
        assert!((100..130).contains(&each), "{each}");
        // Within the budget: untouched.
        assert_eq!(within_budget(history.clone(), 100_000), history);
        // Room for about five messages: the newest four whole (two exchanges), from a user message.
        let kept = within_budget(history.clone(), 5 * each);
        assert_eq!(kept.len(), 5, "{:?}", kept.iter().map(|m| &m.id).collect::<Vec<_>>());
        assert_eq!(kept[0].role, Role::System);
        assert!(kept[0].text().contains("16 earliest messages"), "{}", kept[0].text());
        assert_eq!(kept[1].id, "u8");
        assert_eq!(&kept[1..], &history[16..]);
        // The note reaches the provider as system text, and the conversation starts with the user.
        let converted = convert(&kept);
        assert!(converted.system[0].contains("left out"));
        assert!(matches!(converted.messages[0], Message::User { .. }));
        // A budget smaller than the newest exchange keeps that exchange whole all the same.
        let kept = within_budget(history.clone(), 1);
        assert_eq!(&kept[1..], &history[18..]);
    }

    #[test]
    fn a_summary_at_the_start_is_kept_before_the_note() {
        let mut history = vec![ChatMessage {
            id: "chat-summary".into(),
            role: Role::System,
            parts: vec![MessagePart::text("Summary: the vault code is ZEBRA-1234.")],
            metadata: None,
        }];
        for n in 0..10 {
            history.push(ChatMessage::user_text(format!("u{n}"), "x".repeat(400)));
        }
        let kept = within_budget(history.clone(), 400);
        assert_eq!(kept[0], history[0], "the summary stays first");
        assert!(kept[1].text().contains("earliest messages"), "{}", kept[1].text());
        assert_eq!(kept.last(), history.last());
    }

    fn tool(id: &str, state: ToolState, output: Option<Value>, error: Option<&str>) -> MessagePart {
        MessagePart::Tool(ToolPart {
            tool_name: "get_balance".into(),
            tool_call_id: id.into(),
            state,
            input: json!({"address": "0x01"}),
            output,
            error_text: error.map(str::to_owned),
        })
    }

    fn assistant(parts: Vec<MessagePart>) -> ChatMessage {
        ChatMessage { parts, ..ChatMessage::assistant("a") }
    }

    /// A compact picture of a converted history: one string per message.
    fn shape(messages: &[Message]) -> Vec<String> {
        messages
            .iter()
            .map(|message| match message {
                Message::System { content } => format!("system:{content}"),
                Message::User { content } => {
                    let parts: Vec<String> = content
                        .iter()
                        .map(|part| match part {
                            UserContent::Text(text) => format!("text({})", text.text),
                            UserContent::ToolResult(result) => format!(
                                "result({},{},{})",
                                result.call,
                                result.is_error,
                                result.content.iter().filter_map(|c| c.as_text()).collect::<String>()
                            ),
                            _ => "other".into(),
                        })
                        .collect();
                    format!("user[{}]", parts.join(" "))
                }
                Message::Assistant(turn) => {
                    let parts: Vec<String> = turn
                        .content
                        .iter()
                        .map(|part| match part {
                            AssistantContent::Text(text) => format!("text({})", text.text),
                            AssistantContent::ToolCall(call) => {
                                format!(
                                    "call({},{},{})",
                                    call.id,
                                    call.function.name.as_str(),
                                    call.function.arguments_value()
                                )
                            }
                            _ => "other".into(),
                        })
                        .collect();
                    format!("assistant[{}]", parts.join(" "))
                }
            })
            .collect()
    }

    #[test]
    fn steps_become_call_and_result_pairs() {
        let history = vec![
            ChatMessage::user_text("u1", "my balance?"),
            assistant(vec![
                MessagePart::StepStart,
                MessagePart::text("Let me look."),
                tool("call_1", ToolState::OutputAvailable, Some(json!({"wei": "1"})), None),
                MessagePart::StepStart,
                MessagePart::Reasoning { text: "thinking".into() },
                MessagePart::text("You hold 1 wei."),
                MessagePart::Data { name: "sim".into(), id: None, data: json!({}) },
            ]),
            ChatMessage::user_text("u2", "thanks"),
        ];
        let converted = convert(&history);
        assert_eq!(
            shape(&converted.messages),
            vec![
                "user[text(my balance?)]",
                r#"assistant[text(Let me look.) call(call_1,get_balance,{"address":"0x01"})]"#,
                r#"user[result(call_1,false,{"wei":"1"})]"#,
                "assistant[text(You hold 1 wei.)]",
                "user[text(thanks)]",
            ]
        );
    }

    #[test]
    fn text_after_a_tool_starts_a_step_without_marker() {
        let history = vec![
            ChatMessage::user_text("u1", "go"),
            assistant(vec![
                tool("c1", ToolState::OutputAvailable, Some(json!("done")), None),
                MessagePart::text("Done."),
            ]),
        ];
        assert_eq!(
            shape(&convert(&history).messages),
            vec![
                "user[text(go)]",
                r#"assistant[call(c1,get_balance,{"address":"0x01"})]"#,
                "user[result(c1,false,done)]",
                "assistant[text(Done.)]",
            ]
        );
    }

    #[test]
    fn errors_and_unanswered_calls_get_error_results() {
        let history = vec![
            ChatMessage::user_text("u1", "send"),
            assistant(vec![
                tool("c1", ToolState::OutputError, None, Some("user rejected")),
                tool("c2", ToolState::InputAvailable, None, None),
                tool("c3", ToolState::InputStreaming, None, None),
            ]),
            ChatMessage::user_text("u2", "never mind"),
        ];
        let shape = shape(&convert(&history).messages);
        assert_eq!(shape.len(), 3, "{shape:?}");
        assert_eq!(
            shape[2],
            format!(
                "user[result(c1,true,Error: user rejected) result(c2,true,{NOT_COMPLETED}) result(c3,true,{NOT_COMPLETED}) text(never mind)]"
            )
        );
    }

    #[test]
    fn drops_empty_messages_and_merges_roles() {
        let history = vec![
            ChatMessage::user_text("u1", "a"),
            ChatMessage {
                parts: vec![MessagePart::Other(json!({"type": "file"}))],
                ..ChatMessage::user_text("u2", "")
            },
            ChatMessage::user_text("u3", "b"),
            assistant(vec![MessagePart::StepStart, MessagePart::text("  ")]),
            assistant(vec![MessagePart::text("one")]),
            assistant(vec![MessagePart::StepStart, MessagePart::text("two")]),
            ChatMessage { role: Role::System, ..ChatMessage::user_text("s", "be brief") },
        ];
        let converted = convert(&history);
        assert_eq!(shape(&converted.messages), vec!["user[text(a) text(b)]", "assistant[text(one) text(two)]"]);
        assert_eq!(converted.system, vec!["be brief".to_owned()]);
    }

    #[test]
    fn ids_are_made_safe_and_never_empty() {
        let history = vec![
            ChatMessage::user_text("u1", "x"),
            assistant(vec![
                tool("call.1/x", ToolState::OutputAvailable, Some(json!(1)), None),
                tool("", ToolState::OutputAvailable, Some(json!(2)), None),
            ]),
        ];
        let converted = convert(&history);
        let Some(Message::Assistant(turn)) = converted.messages.get(1) else {
            panic!("no assistant message: {:?}", shape(&converted.messages));
        };
        let ids: Vec<String> = turn.tool_calls().map(|call| call.id.to_string()).collect();
        assert_eq!(ids.first().map(String::as_str), Some("call_1_x"));
        assert!(ids.get(1).is_some_and(|id| !id.is_empty()));
        let Some(Message::User { content }) = converted.messages.get(2) else {
            panic!("no results: {:?}", shape(&converted.messages));
        };
        let answered: Vec<String> = content
            .iter()
            .filter_map(|part| match part {
                UserContent::ToolResult(result) => Some(result.call.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(answered, ids);
    }
}
