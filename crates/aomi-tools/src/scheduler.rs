//! Runs a turn's tool calls.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use aomi_core::{ToolContext, ToolError, ToolOutput, TurnOrigin, TurnSink, UiChunk, WalletContext};
use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::parts::{ToolProgressPart, WalletRequestPart, chunk};
use crate::registry::ToolRegistry;

/// One tool call the model asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRequest {
    /// The call's id.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as the model sent them.
    pub arguments: Value,
}

/// How one call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallResult {
    /// The call's id.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// Its output or error.
    pub outcome: Result<ToolOutput, ToolError>,
}

/// The largest tool output passed on unless configured: 128 KiB of JSON (about 32k tokens).
pub const DEFAULT_TOOL_OUTPUT_BYTES: usize = 128 * 1024;

/// Runs tool calls concurrently, each under a timeout, streaming their progress and results.
#[derive(Debug, Clone)]
pub struct ToolScheduler {
    registry: Arc<ToolRegistry>,
    default_timeout: Duration,
    max_output_bytes: usize,
}

impl ToolScheduler {
    /// A scheduler over `registry`; a call whose tool sets no timeout gets `default_timeout`.
    /// Outputs are cut at [`DEFAULT_TOOL_OUTPUT_BYTES`].
    pub fn new(registry: Arc<ToolRegistry>, default_timeout: Duration) -> Self {
        ToolScheduler { registry, default_timeout, max_output_bytes: DEFAULT_TOOL_OUTPUT_BYTES }
    }

    /// The same scheduler, cutting every tool output, tool data part, progress message and error
    /// text larger than `bytes` (of JSON) before it reaches the stream, the store and the model:
    /// the cut one keeps its first bytes as text and says it was cut, so no tool can flood them.
    pub fn with_output_limit(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// The tools this scheduler runs.
    pub fn registry(&self) -> &ToolRegistry {
        &self.registry
    }

    /// Runs every call at once and returns their results in the order of `calls`. Each result is
    /// emitted to `sink` as soon as its call ends (`tool-output-available` / `tool-output-error`),
    /// progress reports as transient `data-tool-progress` parts, and the tools' own data parts as
    /// `data-<name>`. `origin` (what started the turn) goes to every call's context.
    pub async fn run_all(
        &self,
        calls: Vec<ToolCallRequest>,
        chat_id: &str,
        wallet: Option<&WalletContext>,
        origin: &TurnOrigin,
        sink: &dyn TurnSink,
    ) -> Vec<ToolCallResult> {
        self.run(calls, chat_id, wallet, origin, sink, false).await
    }

    /// Prepares calls of client-side tools (wallet actions): runs each tool's `call` on the server,
    /// which validates the arguments and builds what the client runs. A prepared call is streamed as
    /// a `data-wallet-request` part (id: the call's id; data: `{toolCallId, toolName, request,
    /// summary}`) and stays open for the client to answer; a failed one gets `tool-output-error`
    /// and is closed. The simulation of a transaction before it is shown belongs here.
    pub async fn prepare_client_calls(
        &self,
        calls: Vec<ToolCallRequest>,
        chat_id: &str,
        wallet: Option<&WalletContext>,
        origin: &TurnOrigin,
        sink: &dyn TurnSink,
    ) -> Vec<ToolCallResult> {
        self.run(calls, chat_id, wallet, origin, sink, true).await
    }

    async fn run(
        &self,
        calls: Vec<ToolCallRequest>,
        chat_id: &str,
        wallet: Option<&WalletContext>,
        origin: &TurnOrigin,
        sink: &dyn TurnSink,
        for_client: bool,
    ) -> Vec<ToolCallResult> {
        let (events_tx, mut events_rx) = mpsc::unbounded_channel::<UiChunk>();
        let mut running: FuturesUnordered<_> = calls
            .iter()
            .enumerate()
            .map(|(index, call)| {
                let progress_tx = events_tx.clone();
                let id = call.id.clone();
                let limit = self.max_output_bytes;
                let progress = Arc::new(move |message: String| {
                    let message = cut_text(message, limit);
                    // The receiver lives until every call ended; a send error only means the turn is gone.
                    let part = ToolProgressPart { tool_call_id: id.clone(), message };
                    let _ = progress_tx.send(chunk(&part, Some(id.clone()), true));
                });
                let data_tx = events_tx.clone();
                let data = Arc::new(move |name: String, data: Value| {
                    let _ = data_tx.send(UiChunk::data(name, cut_value(data, limit)));
                });
                let ctx = ToolContext::new(chat_id, &call.id, wallet.cloned(), Some(progress))
                    .with_data(data)
                    .with_origin(origin.clone());
                self.run_one(call, ctx).map(move |outcome| (index, cut_outcome(outcome, limit)))
            })
            .collect();
        drop(events_tx);

        let mut results: Vec<Option<ToolCallResult>> = vec![None; calls.len()];
        loop {
            tokio::select! {
                // A tool's own parts first, so none arrives after its result.
                biased;
                Some(chunk) = events_rx.recv() => {
                    sink.emit(chunk);
                }
                next = running.next() => {
                    let Some((index, outcome)) = next else { break };
                    // Parts a tool emitted before it returned go out before its result.
                    while let Ok(chunk) = events_rx.try_recv() {
                        sink.emit(chunk);
                    }
                    let call = &calls[index];
                    sink.emit(match &outcome {
                        Ok(output) if for_client => {
                            let part = WalletRequestPart {
                                tool_call_id: call.id.clone(),
                                tool_name: call.name.clone(),
                                request: output.data.clone(),
                                summary: output.summary.clone(),
                            };
                            chunk(&part, Some(call.id.clone()), false)
                        }
                        Ok(output) => UiChunk::ToolOutputAvailable {
                            tool_call_id: call.id.clone(),
                            output: serde_json::to_value(output).unwrap_or(Value::Null),
                            preliminary: None,
                        },
                        Err(error) => UiChunk::ToolOutputError {
                            tool_call_id: call.id.clone(),
                            error_text: error.to_string(),
                        },
                    });
                    results[index] = Some(ToolCallResult { id: call.id.clone(), name: call.name.clone(), outcome });
                }
            }
        }
        results.into_iter().flatten().collect()
    }

    async fn run_one(&self, call: &ToolCallRequest, ctx: ToolContext) -> Result<ToolOutput, ToolError> {
        let tool = self.registry.get(&call.name).ok_or_else(|| ToolError::Unknown(call.name.clone()))?;
        let limit = tool.timeout().unwrap_or(self.default_timeout);
        let span = tracing::info_span!("tool", name = %call.name, id = %call.id);
        let started = std::time::Instant::now();
        // A panicking tool is a bug in that tool, not a reason to lose the turn.
        let guarded = AssertUnwindSafe(tool.call(call.arguments.clone(), ctx)).catch_unwind();
        let outcome = match tokio::time::timeout(limit, guarded).await {
            Err(_) => Err(ToolError::Timeout(limit)),
            Ok(Err(panic)) => Err(ToolError::Crashed(panic_message(panic.as_ref()))),
            Ok(Ok(outcome)) => outcome,
        };
        span.in_scope(|| match &outcome {
            Ok(_) => tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "tool ok"),
            Err(error) => tracing::warn!(elapsed_ms = started.elapsed().as_millis() as u64, %error, "tool failed"),
        });
        outcome
    }
}

/// The outcome with its output or error text cut to `limit` bytes (see
/// [`ToolScheduler::with_output_limit`]); the summary stays.
fn cut_outcome(outcome: Result<ToolOutput, ToolError>, limit: usize) -> Result<ToolOutput, ToolError> {
    match outcome {
        Ok(output) => Ok(ToolOutput { data: cut_value(output.data, limit), summary: cut_text(output.summary, limit) }),
        Err(ToolError::Failed(text)) => Err(ToolError::Failed(cut_text(text, limit))),
        Err(ToolError::InvalidArguments(text)) => Err(ToolError::InvalidArguments(cut_text(text, limit))),
        Err(ToolError::Crashed(text)) => Err(ToolError::Crashed(cut_text(text, limit))),
        Err(ToolError::Unknown(name)) => Err(ToolError::Unknown(cut_text(name, limit))),
        Err(timeout @ ToolError::Timeout(_)) => Err(timeout),
    }
}

/// `value` itself when its JSON fits in `limit` bytes; else a string of its JSON's first bytes
/// followed by a note that says it was cut.
fn cut_value(value: Value, limit: usize) -> Value {
    let json = match &value {
        Value::String(text) => std::borrow::Cow::Borrowed(text.as_str()),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    if json.len() <= limit {
        return value;
    }
    Value::String(cut_text(json.into_owned(), limit))
}

/// `text` when it fits in `limit` bytes; else its first bytes (on a character boundary) and a note.
fn cut_text(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[cut by aomi: the tool's output was {} bytes; only the first {end} are shown]",
        &text[..end],
        text.len()
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic".to_owned()
    }
}
