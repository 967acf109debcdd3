//! The stub model called directly, without aomi: the baseline that aomi's overhead is measured
//! against.
//!
//! A [`DirectChat`] makes the same model calls aomi makes for a turn, over the same OpenAI chat
//! completions wire, and keeps the conversation so later calls carry the whole history as aomi's
//! do. Tools are not run: their results are written at once, so the baseline holds only model time.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::stub::{BENCH_TOOL, TurnKind};

/// One directly called turn, with its timings.
#[derive(Debug, Clone, Default)]
pub struct DirectOutcome {
    /// Time to the first streamed chunk of the first call.
    pub first_part: Option<Duration>,
    /// Time to the first content (text or a tool call) of the first call.
    pub first_token: Option<Duration>,
    /// Time to the first text, over all calls of the turn.
    pub first_text: Option<Duration>,
    /// Time to the end of the last call.
    pub total: Duration,
    /// The text of the last call.
    pub text: String,
    /// How many tool calls the model made.
    pub tool_calls: usize,
    /// True when every call's stream ended with `data: [DONE]`.
    pub done: bool,
    /// What went wrong, if anything.
    pub failure: Option<String>,
}

/// A conversation with the model, called directly.
#[derive(Debug, Clone)]
pub struct DirectChat {
    http: reqwest::Client,
    url: String,
    messages: Vec<Value>,
}

/// What one streamed call returned.
#[derive(Default)]
struct Call {
    text: String,
    calls: Vec<(String, String)>,
    done: bool,
}

impl DirectChat {
    /// A new conversation with the OpenAI-compatible server at `openai_base_url` (`…/v1`).
    pub fn new(http: reqwest::Client, openai_base_url: &str, system: &str) -> Self {
        let url = format!("{}/chat/completions", openai_base_url.trim_end_matches('/'));
        DirectChat { http, url, messages: vec![json!({ "role": "system", "content": system })] }
    }

    /// Runs turn `n` of `kind`: one call, or a call for the tools and one for the answer.
    pub async fn turn(&mut self, kind: TurnKind, n: usize) -> DirectOutcome {
        let started = Instant::now();
        let mut outcome = DirectOutcome { done: true, ..DirectOutcome::default() };
        self.messages.push(json!({ "role": "user", "content": kind.user_text(n) }));
        if let Err(failure) = self.run(kind, started, &mut outcome).await {
            outcome.failure = Some(failure);
        }
        outcome.total = started.elapsed();
        outcome
    }

    async fn run(&mut self, kind: TurnKind, started: Instant, outcome: &mut DirectOutcome) -> Result<(), String> {
        let first = self.call(started, outcome).await?;
        outcome.done &= first.done;
        if kind.tool_calls() == 0 || first.calls.is_empty() {
            outcome.text = first.text.clone();
            self.messages.push(json!({ "role": "assistant", "content": first.text }));
            return Ok(());
        }
        outcome.tool_calls = first.calls.len();
        let tool_calls: Vec<Value> = first
            .calls
            .iter()
            .map(|(id, name)| json!({ "id": id, "type": "function", "function": { "name": name, "arguments": "{}" } }))
            .collect();
        self.messages.push(json!({ "role": "assistant", "content": null, "tool_calls": tool_calls }));
        for (id, _) in &first.calls {
            let result = json!({ "data": { "utc": "2030-01-01T00:00:00Z", "unix": 1_893_456_000 }, "summary": "It is 2030-01-01T00:00:00Z." });
            self.messages.push(json!({ "role": "tool", "tool_call_id": id, "content": result.to_string() }));
        }
        let second = self.call(started, outcome).await?;
        outcome.done &= second.done;
        outcome.text = second.text.clone();
        self.messages.push(json!({ "role": "assistant", "content": second.text }));
        Ok(())
    }

    /// One streamed call with the conversation so far.
    async fn call(&self, started: Instant, outcome: &mut DirectOutcome) -> Result<Call, String> {
        let body = json!({
            "model": "bench-stub",
            "stream": true,
            "messages": self.messages,
            "tools": [{ "type": "function", "function": {
                "name": BENCH_TOOL,
                "description": "Returns the current date and time in UTC.",
                "parameters": { "type": "object", "properties": {} }
            } }]
        });
        let response = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("the model answered {}", response.status()));
        }
        let mut call = Call::default();
        let mut events = response.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| format!("the model's stream broke: {e}"))?;
            if event.data == "[DONE]" {
                call.done = true;
                continue;
            }
            let at = started.elapsed();
            outcome.first_part.get_or_insert(at);
            let chunk: Value =
                serde_json::from_str(&event.data).map_err(|e| format!("bad chunk ({e}): {}", event.data))?;
            let Some(delta) = chunk.pointer("/choices/0/delta") else { continue };
            if let Some(text) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                outcome.first_token.get_or_insert(at);
                outcome.first_text.get_or_insert(at);
                call.text.push_str(text);
            }
            for tool in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                outcome.first_token.get_or_insert(at);
                if let Some(id) = tool.get("id").and_then(Value::as_str) {
                    let name = tool.pointer("/function/name").and_then(Value::as_str).unwrap_or_default();
                    call.calls.push((id.to_owned(), name.to_owned()));
                }
            }
        }
        Ok(call)
    }
}
