//! A client of aomi's chat protocol that times and keeps every part of a turn.
//!
//! It speaks the same HTTP as a browser: `POST /api/chat` with the new message, then reads the AI
//! SDK UI message stream (`data:` events ending with `data: [DONE]`). Times are taken from the
//! moment the request is sent.

use std::time::{Duration, Instant};

use aomi_core::stream::DONE;
use aomi_core::{ChatMessage, FinishReason, MessageAssembler, UiChunk, WalletContext};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::Error;

/// How soon a follower asks again while no turn runs yet.
const FOLLOW_POLL: Duration = Duration::from_millis(2);

/// Everything one turn streamed, with its timings.
#[derive(Debug, Clone, Default)]
pub struct TurnOutcome {
    /// The parts, in order.
    pub chunks: Vec<UiChunk>,
    /// True when the stream ended with `data: [DONE]`.
    pub done: bool,
    /// Time to the first part (`start`).
    pub first_part: Option<Duration>,
    /// Time to the first part carrying model output (text, reasoning or a tool call).
    pub first_token: Option<Duration>,
    /// Time to the first text delta.
    pub first_text: Option<Duration>,
    /// Time to the last text delta.
    pub last_text: Option<Duration>,
    /// Time to the end of the stream.
    pub total: Duration,
    /// Each tool call's time, from its `tool-input-available` part to its (final) output or error
    /// part, as the client sees them arrive.
    pub tool_calls: Vec<Duration>,
    /// Time to the first tool output (or tool error) part.
    pub first_tool_output: Option<Duration>,
    /// The turn's time in tools: from the first `tool-input-available` part to the last tool output.
    pub tool_span: Option<Duration>,
    /// A failure outside the stream's parts: no connection, an HTTP error, a part that is not
    /// JSON of the protocol, a broken stream.
    pub failure: Option<String>,
}

impl TurnOutcome {
    /// The assistant message the parts describe, folded as the server folds them.
    pub fn message(&self) -> ChatMessage {
        let mut assembler = MessageAssembler::new(ChatMessage::assistant("observed"));
        for chunk in &self.chunks {
            assembler.apply(chunk);
        }
        assembler.into_message()
    }

    /// The reason of the `finish` part, if the stream had one.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.chunks.iter().rev().find_map(|chunk| match chunk {
            UiChunk::Finish { finish_reason, .. } => Some(finish_reason.unwrap_or(FinishReason::Other)),
            _ => None,
        })
    }

    /// True when the last part is `finish`.
    pub fn ends_with_finish(&self) -> bool {
        matches!(self.chunks.last(), Some(UiChunk::Finish { .. }))
    }

    /// The texts of the stream's `error` parts.
    pub fn error_parts(&self) -> Vec<&str> {
        self.chunks
            .iter()
            .filter_map(|chunk| match chunk {
                UiChunk::Error { error_text } => Some(error_text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Token counts the server reported in the message metadata (`usage`), summed over steps.
    pub fn usage(&self) -> (u64, u64) {
        let mut usage = (0, 0);
        for chunk in &self.chunks {
            let meta = match chunk {
                UiChunk::MessageMetadata { message_metadata } => Some(message_metadata),
                UiChunk::Finish { message_metadata, .. } | UiChunk::Start { message_metadata, .. } => {
                    message_metadata.as_ref()
                }
                _ => None,
            };
            if let Some(found) = meta.and_then(|m| m.get("usage")) {
                usage.0 += found.get("inputTokens").and_then(Value::as_u64).unwrap_or(0);
                usage.1 += found.get("outputTokens").and_then(Value::as_u64).unwrap_or(0);
            }
        }
        usage
    }
}

/// An HTTP client of one aomi server.
#[derive(Debug, Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base: String,
    app: Option<String>,
}

impl ChatClient {
    /// A client of the server at `base_url` (`http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Self {
        ChatClient { http: reqwest::Client::new(), base: base_url.trim_end_matches('/').to_owned(), app: None }
    }

    /// The same client, its turns answered by the app `app` (`batch`, `analyst`; the request's
    /// `app`) instead of the server's default.
    pub fn in_app(&self, app: &str) -> Self {
        ChatClient { app: Some(app.to_owned()), ..self.clone() }
    }

    /// A client that speaks as client IP `ip` through a proxy the server trusts: every request
    /// carries `X-Forwarded-For: <ip>` (the load and abuse run, [`crate::abuse`]).
    pub fn forwarded_for(base_url: &str, ip: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .default_headers(crate::abuse::forwarded_header(ip)?)
            .build()
            .map_err(|e| Error::Http(e.to_string()))?;
        Ok(ChatClient { http, base: base_url.trim_end_matches('/').to_owned(), app: None })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends `text` as a new user message in `chat_id` and reads the whole streamed answer.
    /// Never fails: whatever went wrong is in [`TurnOutcome::failure`].
    pub async fn send(&self, chat_id: &str, text: &str, wallet: Option<&WalletContext>) -> TurnOutcome {
        let message = ChatMessage::user_text(format!("m-{}", uuid::Uuid::new_v4().simple()), text);
        self.send_message(chat_id, &message, wallet).await
    }

    /// Sends `message` (a user message, or the assistant message carrying a client tool's output,
    /// as the AI SDK does after a wallet answered) in `chat_id` and reads the whole streamed answer.
    /// Never fails: whatever went wrong is in [`TurnOutcome::failure`].
    pub async fn send_message(
        &self,
        chat_id: &str,
        message: &ChatMessage,
        wallet: Option<&WalletContext>,
    ) -> TurnOutcome {
        let mut body = json!({ "id": chat_id, "message": message });
        if let Some(wallet) = wallet {
            body["wallet"] = json!(wallet);
        }
        if let Some(app) = &self.app {
            body["app"] = json!(app);
        }
        let started = Instant::now();
        let mut outcome = TurnOutcome::default();
        if let Err(failure) = self.read_turn(&body, started, &mut outcome).await {
            outcome.failure = Some(failure);
        }
        outcome.total = started.elapsed();
        outcome
    }

    async fn read_turn(&self, body: &Value, started: Instant, outcome: &mut TurnOutcome) -> Result<(), String> {
        let url = format!("{}/api/chat", self.base);
        let response = self.http.post(&url).json(body).send().await.map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!("the server answered {status}: {text}"));
        }
        read_stream(response, started, outcome).await
    }

    /// Follows the turn running in `chat_id` (`GET /api/chat/{id}/stream`, on whichever instance
    /// it runs), asking again until one runs, at most `patience`; times are taken from `started`
    /// (when the turn was sent, elsewhere). Never fails: whatever went wrong is in
    /// [`TurnOutcome::failure`], a turn that never ran within `patience` too.
    pub async fn follow(&self, chat_id: &str, started: Instant, patience: Duration) -> TurnOutcome {
        let mut outcome = TurnOutcome::default();
        if let Err(failure) = self.follow_turn(chat_id, started, patience, &mut outcome).await {
            outcome.failure = Some(failure);
        }
        outcome.total = started.elapsed();
        outcome
    }

    async fn follow_turn(
        &self,
        chat_id: &str,
        started: Instant,
        patience: Duration,
        outcome: &mut TurnOutcome,
    ) -> Result<(), String> {
        let url = format!("{}/api/chat/{chat_id}/stream", self.base);
        let deadline = Instant::now() + patience;
        loop {
            let response = self.http.get(&url).send().await.map_err(|e| format!("cannot reach {url}: {e}"))?;
            let status = response.status();
            if status == reqwest::StatusCode::OK {
                return read_stream(response, started, outcome).await;
            }
            if status != reqwest::StatusCode::NO_CONTENT {
                let text = response.text().await.unwrap_or_default();
                return Err(format!("{url} answered {status}: {text}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("no turn ran in {chat_id} within {} ms", patience.as_millis()));
            }
            // 204: the turn has not started yet; ask again soon, so that the follower loses no time.
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }

    /// The chat's stored messages (`GET /api/chats/{id}`).
    pub async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, Error> {
        let url = format!("{}/api/chats/{chat_id}", self.base);
        let response = self.http.get(&url).send().await.map_err(|e| Error::Http(format!("cannot reach {url}: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| Error::Http(format!("{url}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Http(format!("{url} answered {status}: {body}")));
        }
        serde_json::from_value(body["messages"].clone()).map_err(|e| Error::Http(format!("{url}: bad messages: {e}")))
    }

    /// Waits until the server answers `GET /healthz`, at most `patience`.
    pub async fn wait_healthy(&self, patience: Duration) -> Result<(), Error> {
        let url = format!("{}/healthz", self.base);
        let deadline = Instant::now() + patience;
        loop {
            match self.http.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                other => {
                    if Instant::now() >= deadline {
                        let why = match other {
                            Ok(response) => format!("it answered {}", response.status()),
                            Err(error) => error.to_string(),
                        };
                        return Err(Error::Http(format!("{url} is not healthy: {why}")));
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads a UI message stream to its end into `outcome`, timing each part from `started`.
async fn read_stream(response: reqwest::Response, started: Instant, outcome: &mut TurnOutcome) -> Result<(), String> {
    let mut events = response.bytes_stream().eventsource();
    // Open tool calls and when their input became available; the first input and last output.
    let mut open: Vec<(String, Duration)> = Vec::new();
    let mut span: Option<(Duration, Duration)> = None;
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| format!("the stream broke: {e}"))?;
        if event.data == DONE {
            outcome.done = true;
            continue;
        }
        let chunk: UiChunk = serde_json::from_str(&event.data)
            .map_err(|e| format!("a part is not of the protocol ({e}): {}", event.data))?;
        let at = started.elapsed();
        outcome.first_part.get_or_insert(at);
        if matches!(chunk, UiChunk::TextDelta { .. } | UiChunk::ReasoningDelta { .. } | UiChunk::ToolInputStart { .. })
        {
            outcome.first_token.get_or_insert(at);
        }
        if matches!(chunk, UiChunk::TextDelta { .. }) {
            outcome.first_text.get_or_insert(at);
            outcome.last_text = Some(at);
        }
        match &chunk {
            UiChunk::ToolInputAvailable { tool_call_id, .. } => {
                open.push((tool_call_id.clone(), at));
                span.get_or_insert((at, at));
            }
            UiChunk::ToolOutputAvailable { tool_call_id, preliminary: None | Some(false), .. }
            | UiChunk::ToolOutputError { tool_call_id, .. } => {
                outcome.first_tool_output.get_or_insert(at);
                if let Some(index) = open.iter().position(|(id, _)| id == tool_call_id) {
                    let (_, since) = open.swap_remove(index);
                    outcome.tool_calls.push(at.saturating_sub(since));
                    if let Some((_, last)) = span.as_mut() {
                        *last = at;
                    }
                }
            }
            _ => {}
        }
        outcome.chunks.push(chunk);
    }
    outcome.tool_span = span.map(|(first, last)| last.saturating_sub(first));
    Ok(())
}
