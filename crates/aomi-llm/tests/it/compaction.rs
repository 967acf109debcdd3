//! The compactor against the stub model: what the model is sent, what is kept, what is asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aomi_core::{BoxFuture, ChatMessage, MessagePart, Role, ToolPart, ToolState};
use aomi_llm::Provider;
use aomi_llm::compaction::{CompactionSettings, CompactionState, CompactionStates, Compactor, SUMMARY_MESSAGE_ID};
use aomi_testkit::{Match, Reply, Script};
use serde_json::json;

use crate::{client, client_with, stub};

/// States in memory.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, CompactionState>>);

impl CompactionStates for Memory {
    fn load<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<CompactionState>, String>> {
        Box::pin(async move { Ok(self.0.lock().unwrap().get(chat_id).cloned()) })
    }

    fn save<'a>(&'a self, chat_id: &'a str, state: &'a CompactionState) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0.lock().unwrap().insert(chat_id.to_owned(), state.clone());
            Ok(())
        })
    }
}

/// `turns` turns, each a question, a tool call with an output of `output_bytes`, and an answer.
fn chat(turns: usize, output_bytes: usize) -> Vec<ChatMessage> {
    let mut history = Vec::new();
    for n in 0..turns {
        history.push(ChatMessage::user_text(format!("u{n}"), format!("question {n}")));
        history.push(ChatMessage {
            parts: vec![
                MessagePart::StepStart,
                MessagePart::Tool(ToolPart {
                    tool_name: "get_logs".into(),
                    tool_call_id: format!("call{n}"),
                    state: ToolState::OutputAvailable,
                    input: json!({"n": n}),
                    output: Some(json!({"logs": "L".repeat(output_bytes)})),
                    error_text: None,
                }),
                MessagePart::StepStart,
                MessagePart::text(format!("answer {n}")),
            ],
            ..ChatMessage::assistant(format!("a{n}"))
        });
    }
    history
}

fn settings(budget: usize) -> CompactionSettings {
    CompactionSettings { old_tool_output_bytes: 1_000, ..CompactionSettings::new(budget) }
}

fn utility_script() -> Script {
    Script::new()
        .rule(Match::LastUserContains("Tool output of".into()), Reply::text(r#"{"summary": "many logs"}"#))
        .fallback(Reply::text(r#"{"summary": "Questions about logs.", "facts": ["the logs are long"]}"#))
}

fn output_of(message: &ChatMessage) -> String {
    message
        .parts
        .iter()
        .find_map(|part| match part {
            MessagePart::Tool(tool) => tool.output.as_ref().map(|output| output.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn older_outputs_are_summarised_once_and_the_current_turn_stays_whole() {
    let stub = stub(utility_script()).await;
    let memory = Arc::new(Memory::default());
    let compactor = Compactor::new(client(&stub, Provider::OpenAi), memory.clone(), settings(100_000));
    let mut history = chat(3, 5_000);
    history.truncate(5); // two whole turns, then the third's question
    history.push(chat(3, 5_000)[5].clone());
    let prepared = compactor.prepare("c1", &history).await;
    assert_eq!(prepared.messages.len(), 6, "within the budget, nothing is folded");
    assert!(output_of(&prepared.messages[1]).contains("many logs"), "an older output is summarised");
    assert!(!output_of(&prepared.messages[1]).contains("LLLL"));
    assert!(output_of(&prepared.messages[5]).contains(&"L".repeat(5_000)), "the current turn's stays whole");
    assert_eq!(stub.requests().len(), 2, "one summary per older output");
    assert_eq!(memory.0.lock().unwrap()["c1"].digests.len(), 2, "kept with the chat's state");
    // The next preparation asks for nothing already summarised.
    compactor.prepare("c1", &history).await;
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn a_history_over_the_budget_is_folded_into_the_summary_incrementally() {
    let stub = stub(utility_script()).await;
    let memory = Arc::new(Memory::default());
    let compactor = Compactor::new(client(&stub, Provider::OpenAi), memory.clone(), settings(2_000));
    let history = chat(20, 2_000);
    let prepared = compactor.prepare("c1", &history[..39]).await;
    let first = &prepared.messages[0];
    assert_eq!((first.id.as_str(), first.role), (SUMMARY_MESSAGE_ID, Role::System));
    assert!(first.text().contains("Questions about logs.") && first.text().contains("- the logs are long"));
    assert_eq!(prepared.messages[1].role, Role::User, "the recent turns start at a question");
    let state = memory.0.lock().unwrap()["c1"].clone();
    assert!(state.covered > 0 && state.covered % 2 == 0, "whole turns are covered: {}", state.covered);
    assert_eq!(state.covers_through.as_deref(), Some(history[state.covered - 1].id.as_str()));
    let sent: usize = prepared.messages.iter().map(aomi_llm::history::estimate_tokens).sum();
    assert!(sent <= 2_000, "{sent}");

    // A later fold sends the previous summary and only the newly old turns.
    let folds_before = stub.requests().iter().filter(|r| r.body.to_string().contains("Turns to fold in")).count();
    compactor.prepare("c1", &history[..39]).await;
    let mut longer = history.clone();
    longer.extend(chat(40, 2_000).into_iter().skip(40));
    compactor.prepare("c1", &longer[..79]).await;
    let folds: Vec<String> = stub
        .requests()
        .iter()
        .map(|r| r.last_user_text.clone().unwrap_or_default())
        .filter(|text| text.contains("Turns to fold in"))
        .collect();
    assert!(folds.len() > folds_before, "the longer chat folds again");
    let last = folds.last().unwrap();
    assert!(last.contains("Questions about logs."), "the previous summary is passed on: {last}");
    assert!(!last.contains("question 0\n"), "turns folded before are not sent again: {last}");
}

#[tokio::test]
async fn a_history_that_changed_under_its_summary_is_compacted_afresh() {
    let stub = stub(utility_script()).await;
    let memory = Arc::new(Memory::default());
    memory.0.lock().unwrap().insert(
        "c1".into(),
        CompactionState {
            summary: "from another branch".into(),
            covered: 2,
            covers_through: Some("gone".into()),
            ..CompactionState::default()
        },
    );
    let compactor = Compactor::new(client(&stub, Provider::OpenAi), memory.clone(), settings(100_000));
    let history = chat(2, 10);
    let prepared = compactor.prepare("c1", &history[..3]).await;
    assert_eq!(prepared.messages, history[..3].to_vec(), "no stale summary, nothing left out");
    assert_eq!(memory.0.lock().unwrap()["c1"].covered, 0);
}

#[tokio::test]
async fn a_failing_model_leaves_out_the_oldest_messages_and_the_usage_calibrates() {
    let stub = stub(Script::new().fallback(Reply::error(500, "down"))).await;
    let memory = Arc::new(Memory::default());
    let model = client_with(&stub, Provider::OpenAi, |config| config.max_retries = 0);
    let compactor = Compactor::new(model, memory.clone(), settings(2_000));
    let history = chat(20, 2_000);
    let prepared = compactor.prepare("c1", &history[..39]).await;
    assert!(prepared.messages[0].text().contains("were left out"), "{}", prepared.messages[0].text());
    assert!(prepared.messages.len() < 39);
    assert_eq!(prepared.state.covered, 0, "nothing was folded");

    let mut state = prepared.state;
    compactor.observe_usage("c1", &mut state, 1_000, 2_000).await;
    assert_eq!(memory.0.lock().unwrap()["c1"].calibration, Some(2.0), "the provider's count is kept");
    // Counted twice as large, less of the history fits.
    let scaled = compactor.compact(&history[..39], &mut state).await;
    assert!(scaled.len() < prepared.messages.len(), "{} vs {}", scaled.len(), prepared.messages.len());
}
