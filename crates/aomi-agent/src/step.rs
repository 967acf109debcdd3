//! The building blocks of an agent loop, for any app: one model step streamed to the turn's sink
//! ([`model_step`]), one round of tool calls ([`run_tools`]), a step of the app's own words
//! ([`text_step`]), and the turn's token counts ([`Usage`]).
//!
//! An app's loop is the order in which it calls these. [`DefaultApp`](crate::DefaultApp) calls
//! `model_step` and `run_tools` in turn until the model answers in text; another app may stop
//! after one round, or branch. The caller emits `start-step` before a model step and
//! `finish-step` after its tool calls ran (as the AI SDK's own streams do); the per-turn hooks
//! (the chat's network) are run by the backend before the app's turn starts.

use aomi_core::{TurnInput, TurnSink, UiChunk};
use aomi_llm::{LlmClient, ModelEvent, ModelRequest};
use aomi_tools::{ToolCallRequest, ToolCallResult, ToolScheduler};
use futures::StreamExt;
use serde_json::json;

/// What a model step produced.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    /// The tool calls the model made, in order (already streamed as `tool-input-*` parts).
    pub calls: Vec<ToolCallRequest>,
    /// The text the model wrote (already streamed as `text-*` parts).
    pub text: String,
    /// The step's token counts.
    pub usage: Usage,
}

/// A model step that failed: the model call or its stream broke. The parts streamed before the
/// failure stay; the step is closed (`finish-step` emitted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The model call failed: {0}")]
pub struct StepError(pub String);

/// Tokens of a turn's model calls, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input (prompt) tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// True once any call reported a count.
    pub reported: bool,
}

impl Usage {
    /// Adds another step's counts.
    pub fn add(&mut self, other: Usage) {
        self.input += other.input;
        self.output += other.output;
        self.reported |= other.reported;
    }

    /// Emits the counts as message metadata (`{"usage": {"inputTokens", "outputTokens"}}`), so
    /// clients and evals can show the cost; nothing when no call reported a count.
    pub fn emit(&self, sink: &dyn TurnSink) {
        if self.reported {
            sink.emit(UiChunk::MessageMetadata {
                message_metadata: json!({ "usage": { "inputTokens": self.input, "outputTokens": self.output } }),
            });
        }
    }
}

/// One model call: streams its reasoning, text and tool calls to `sink` and returns them. Does not
/// emit `start-step`; emits `finish-step` only on failure (the caller ends a good step after its
/// tool calls ran).
pub async fn model_step(llm: &LlmClient, request: ModelRequest, sink: &dyn TurnSink) -> Result<StepOutput, StepError> {
    let mut blocks = OpenBlocks::default();
    let mut output = StepOutput::default();
    let mut started: Vec<String> = Vec::new();
    let result = async {
        let mut stream = llm.stream(request).await?;
        while let Some(event) = stream.next().await {
            match event? {
                ModelEvent::TextDelta(delta) => {
                    let id = blocks.text(sink);
                    output.text.push_str(&delta);
                    sink.emit(UiChunk::TextDelta { id, delta });
                }
                ModelEvent::ReasoningDelta(delta) => {
                    let id = blocks.reasoning(sink);
                    sink.emit(UiChunk::ReasoningDelta { id, delta });
                }
                ModelEvent::ToolCallStart { id, name } => {
                    blocks.close(sink);
                    if !started.contains(&id) {
                        started.push(id.clone());
                        sink.emit(UiChunk::ToolInputStart { tool_call_id: id, tool_name: name });
                    }
                }
                ModelEvent::ToolCallDelta { id, delta } => {
                    sink.emit(UiChunk::ToolInputDelta { tool_call_id: id, input_text_delta: delta });
                }
                ModelEvent::ToolCall { id, name, arguments } => {
                    blocks.close(sink);
                    if !started.contains(&id) {
                        started.push(id.clone());
                        sink.emit(UiChunk::ToolInputStart { tool_call_id: id.clone(), tool_name: name.clone() });
                    }
                    sink.emit(UiChunk::ToolInputAvailable {
                        tool_call_id: id.clone(),
                        tool_name: name.clone(),
                        input: arguments.clone(),
                    });
                    output.calls.push(ToolCallRequest { id, name, arguments });
                }
                ModelEvent::Done { input_tokens, output_tokens } => {
                    output.usage.reported |= input_tokens.is_some() || output_tokens.is_some();
                    output.usage.input += input_tokens.unwrap_or(0);
                    output.usage.output += output_tokens.unwrap_or(0);
                }
            }
        }
        Ok::<(), aomi_llm::LlmError>(())
    }
    .await;
    blocks.close(sink);
    if let Err(error) = result {
        tracing::warn!(%error, "model call failed");
        // Tool calls whose arguments never completed are closed, so no card stays "running".
        for id in started.iter().filter(|id| !output.calls.iter().any(|call| &call.id == *id)) {
            sink.emit(UiChunk::ToolOutputError {
                tool_call_id: id.clone(),
                error_text: "the model stopped before finishing this call".into(),
            });
        }
        sink.emit(UiChunk::FinishStep);
        return Err(StepError(error.to_string()));
    }
    Ok(output)
}

/// What a round of tool calls did.
#[derive(Debug, Default)]
pub struct ToolRound {
    /// The results of the calls run on the server, in the order of the calls.
    pub results: Vec<ToolCallResult>,
    /// True when a client tool call (a wallet request) was prepared and now waits for the client:
    /// the turn should end with `FinishReason::ToolCalls` and goes on when the client answers.
    pub waiting_for_client: bool,
}

/// Runs a step's tool calls: the server's concurrently (their results streamed as they end), and
/// prepares the client's (validated and built on the server; one that fails there is an ordinary
/// tool error for the model, one that succeeds waits for the client). Emits no step parts.
pub async fn run_tools(
    scheduler: &ToolScheduler,
    calls: Vec<ToolCallRequest>,
    input: &TurnInput,
    sink: &dyn TurnSink,
) -> ToolRound {
    let origin = input.origin();
    let wallet = input.wallet.as_ref();
    let (client_calls, server_calls): (Vec<_>, Vec<_>) = calls
        .into_iter()
        .partition(|call| scheduler.registry().get(&call.name).is_some_and(|tool| tool.runs_on_client()));
    let results = scheduler.run_all(server_calls, &input.chat_id, wallet, &origin, sink).await;
    let prepared = scheduler.prepare_client_calls(client_calls, &input.chat_id, wallet, &origin, sink).await;
    ToolRound { results, waiting_for_client: prepared.iter().any(|call| call.outcome.is_ok()) }
}

/// Streams a call's input as a model's would (`tool-input-start`, `tool-input-available`): for
/// calls the app makes itself (a direct command, a planned read, an intent).
pub fn emit_call_input(sink: &dyn TurnSink, call: &ToolCallRequest) {
    sink.emit(UiChunk::ToolInputStart { tool_call_id: call.id.clone(), tool_name: call.name.clone() });
    sink.emit(UiChunk::ToolInputAvailable {
        tool_call_id: call.id.clone(),
        tool_name: call.name.clone(),
        input: call.arguments.clone(),
    });
}

/// Reports a failed model step: an `error` part with its text, and the message marked
/// `{"incomplete": true}` in its metadata. The step itself was closed by [`model_step`].
pub fn failed(sink: &dyn TurnSink, error: &StepError) {
    sink.emit(UiChunk::Error { error_text: error.to_string() });
    sink.emit(UiChunk::MessageMetadata { message_metadata: json!({ "incomplete": true }) });
}

/// Emits a whole step that holds one text block: the app's own words, not the model's.
pub fn text_step(sink: &dyn TurnSink, text: String) {
    sink.emit(UiChunk::StartStep);
    text_block(sink, text);
    sink.emit(UiChunk::FinishStep);
}

/// Emits one whole text block of the app's own words inside the current step.
pub fn text_block(sink: &dyn TurnSink, text: String) {
    let id = new_id("txt");
    sink.emit(UiChunk::TextStart { id: id.clone() });
    sink.emit(UiChunk::TextDelta { id: id.clone(), delta: text });
    sink.emit(UiChunk::TextEnd { id });
}

/// A fresh id for a part (`txt_…`, `msg_…`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The text or reasoning block currently open in a step.
#[derive(Default)]
struct OpenBlocks {
    text: Option<String>,
    reasoning: Option<String>,
}

impl OpenBlocks {
    fn text(&mut self, sink: &dyn TurnSink) -> String {
        if let Some(id) = self.reasoning.take() {
            sink.emit(UiChunk::ReasoningEnd { id });
        }
        self.text
            .get_or_insert_with(|| {
                let id = new_id("txt");
                sink.emit(UiChunk::TextStart { id: id.clone() });
                id
            })
            .clone()
    }

    fn reasoning(&mut self, sink: &dyn TurnSink) -> String {
        if let Some(id) = self.text.take() {
            sink.emit(UiChunk::TextEnd { id });
        }
        self.reasoning
            .get_or_insert_with(|| {
                let id = new_id("rsn");
                sink.emit(UiChunk::ReasoningStart { id: id.clone() });
                id
            })
            .clone()
    }

    fn close(&mut self, sink: &dyn TurnSink) {
        if let Some(id) = self.text.take() {
            sink.emit(UiChunk::TextEnd { id });
        }
        if let Some(id) = self.reasoning.take() {
            sink.emit(UiChunk::ReasoningEnd { id });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Parts(Mutex<Vec<UiChunk>>);

    impl TurnSink for Parts {
        fn emit(&self, chunk: UiChunk) -> bool {
            self.0.lock().unwrap().push(chunk);
            true
        }
    }

    #[test]
    fn a_text_step_is_one_whole_step_of_one_block() {
        let sink = Parts::default();
        text_step(&sink, "hello".into());
        let parts = sink.0.into_inner().unwrap();
        let [
            UiChunk::StartStep,
            UiChunk::TextStart { id },
            UiChunk::TextDelta { id: delta_id, delta },
            UiChunk::TextEnd { id: end_id },
            UiChunk::FinishStep,
        ] = parts.as_slice()
        else {
            panic!("{parts:?}")
        };
        assert_eq!((delta_id, end_id, delta.as_str()), (id, id, "hello"));
    }

    #[test]
    fn usage_adds_up_and_is_reported_only_when_a_call_counted() {
        let sink = Parts::default();
        let mut usage = Usage::default();
        usage.emit(&sink);
        assert!(sink.0.lock().unwrap().is_empty(), "no count, no metadata");
        usage.add(Usage { input: 10, output: 2, reported: true });
        usage.add(Usage { input: 5, output: 1, reported: false });
        usage.emit(&sink);
        let parts = sink.0.into_inner().unwrap();
        let [UiChunk::MessageMetadata { message_metadata }] = parts.as_slice() else { panic!("{parts:?}") };
        assert_eq!(message_metadata, &json!({ "usage": { "inputTokens": 15, "outputTokens": 3 } }));
    }
}
