//! The linear loop, shared by every app that runs one: model → tool calls → results → model, until
//! the model answers in text or the step limit is hit. Direct commands (`/balance …`) run without
//! the model, and a turn without a model explains how to configure one.
//!
//! An app is a preamble and a tool set around this loop ([`DefaultApp`](crate::DefaultApp),
//! [`AnalystApp`](crate::AnalystApp)); what the app may do is decided by the tools it is given,
//! never by the preamble alone.

use std::sync::Arc;

use aomi_core::{ChatMessage, FinishReason, Role, TurnInput, TurnSink, UiChunk, WalletContext};
use aomi_llm::compaction::Compactor;
use aomi_llm::{LlmClient, ModelRequest, ModelTools, ToolChoice};
use aomi_tools::commands::{self, Command};
use aomi_tools::{ToolCallRequest, ToolRegistry, ToolScheduler};

use crate::default_app::{DefaultAppConfig, NO_MODEL_MESSAGE};
use crate::intent::IntentFastPath;
use crate::sink::RecordingSink;
use crate::step::{self, Usage, new_id, text_step};

/// A linear loop over one tool set, with one preamble.
#[derive(Debug, Clone)]
pub struct LinearLoop {
    preamble: String,
    scheduler: ToolScheduler,
    config: DefaultAppConfig,
    compactor: Option<Arc<Compactor>>,
    /// Prepares clear wallet actions without the model (the default app's; see [`crate::intent`]).
    intents: Option<Arc<IntentFastPath>>,
    /// The tools as the model is offered them, built once: each model client encodes them once.
    model_tools: ModelTools,
    /// The tools' estimated tokens, counted once: they are the same in every request.
    tool_tokens: usize,
}

impl LinearLoop {
    /// A loop that tells the model `preamble` (followed by the wallet's state) and offers `tools`.
    pub fn new(preamble: impl Into<String>, tools: ToolRegistry, config: DefaultAppConfig) -> Self {
        let model_tools = ModelTools::new(tools.specs());
        let tool_tokens = serde_json::to_vec(model_tools.specs()).map_or(0, |json| json.len()).div_ceil(4);
        let scheduler =
            ToolScheduler::new(Arc::new(tools), config.tool_timeout).with_output_limit(config.tool_output_bytes);
        LinearLoop {
            preamble: preamble.into(),
            scheduler,
            config,
            compactor: None,
            intents: None,
            model_tools,
            tool_tokens,
        }
    }

    /// The same loop keeping long chats within the model's budget with `compactor` (older turns
    /// folded into a stored summary, large older tool outputs summarised; see
    /// [`aomi_llm::compaction`]). Without one, the oldest messages beyond the budget are left out.
    pub fn with_compaction(mut self, compactor: Arc<Compactor>) -> Self {
        self.compactor = Some(compactor);
        self
    }

    /// The same loop preparing a turn's clear wallet action on `intents` before the model is
    /// called; the turn falls back to the model when anything is unclear (see [`crate::intent`]).
    pub fn with_intents(mut self, intents: Arc<IntentFastPath>) -> Self {
        self.intents = Some(intents);
        self
    }

    /// The history a model call of `input`'s turn is sent, within the budget, and the message of
    /// the turn: with a compactor, older turns folded into the chat's summary (and its state, for
    /// calibrating the estimate); without one, the oldest messages beyond the budget left out.
    pub(crate) async fn prepare_history(
        &self,
        input: &TurnInput,
    ) -> (Vec<ChatMessage>, ChatMessage, Option<aomi_llm::compaction::CompactionState>) {
        match &self.compactor {
            Some(compactor) => {
                let prepared = match &input.compaction {
                    Some(stored) => compactor.prepare_from(&input.chat_id, &input.history, stored.clone()).await,
                    None => compactor.prepare(&input.chat_id, &input.history).await,
                };
                let (history, current) = split_off_current(prepared.messages);
                (history, current, Some(prepared.state))
            }
            None => {
                let (history, current) = split_history(input, self.config.history_token_budget);
                (history, current, None)
            }
        }
    }

    /// The scheduler of the loop's tools.
    pub fn scheduler(&self) -> &ToolScheduler {
        &self.scheduler
    }

    /// The loop's tools as the model is offered them (one shared set: offer this one, not a new
    /// one built from the registry, so that the model client's encoding of it is reused).
    pub fn model_tools(&self) -> &ModelTools {
        &self.model_tools
    }

    /// Estimated tokens of history the model is sent per call.
    pub fn history_token_budget(&self) -> usize {
        self.config.history_token_budget
    }

    /// The system prompt of a turn: the preamble, then what the wallet is.
    pub fn system_prompt(&self, wallet: Option<&WalletContext>) -> String {
        format!("{}\n\n{}", self.preamble, wallet_sentence(wallet))
    }

    /// Runs one turn: a direct command, the no-model message, or the loop.
    pub async fn run_turn(&self, llm: Option<&LlmClient>, input: TurnInput, sink: &dyn TurnSink) -> FinishReason {
        if let Some(command) = direct_command(&input.history) {
            return self.run_command(command, &input, sink).await;
        }
        match llm {
            Some(llm) => self.run(llm, input, sink).await,
            None => {
                text_step(sink, NO_MODEL_MESSAGE.to_owned());
                FinishReason::Stop
            }
        }
    }

    /// Runs the loop, then reports the turn's token counts as message metadata
    /// (`{"usage": {"inputTokens", "outputTokens"}}`), so clients and evals can show the cost.
    async fn run(&self, llm: &LlmClient, input: TurnInput, sink: &dyn TurnSink) -> FinishReason {
        let mut usage = Usage::default();
        let reason = self.run_steps(llm, input, sink, &mut usage).await;
        usage.emit(sink);
        reason
    }

    async fn run_steps(
        &self,
        llm: &LlmClient,
        input: TurnInput,
        sink: &dyn TurnSink,
        usage: &mut Usage,
    ) -> FinishReason {
        let (history, current, mut compaction) = self.prepare_history(&input).await;
        let sink = RecordingSink::new(sink, current);
        // A clear wallet action is prepared without the model; what it streamed stays in the
        // message the model sees when it falls back.
        if let Some(intents) = &self.intents
            && let Some(reason) = intents.run(&self.scheduler, &input, &sink).await
        {
            return reason;
        }
        let system = self.system_prompt(input.wallet.as_ref());
        for step in 0..self.config.max_steps {
            let mut messages = history.clone();
            messages.push(sink.message());
            // With `first_tool`, the first call must call it and the next one answers in text.
            let tool_choice = match (&self.config.first_tool, step) {
                (Some(tool), 0) => ToolChoice::Tool(tool.clone()),
                (Some(_), 1) => ToolChoice::None,
                _ => ToolChoice::Auto,
            };
            let request = ModelRequest {
                system: system.clone(),
                messages,
                tools: self.model_tools.clone(),
                tool_choice,
                ..ModelRequest::default()
            };
            // The first call's provider count calibrates the chat's later budgets.
            let estimated = match (&compaction, step) {
                (Some(_), 0) => estimate_request(&request, self.tool_tokens),
                _ => 0,
            };
            sink.emit(UiChunk::StartStep);
            let calls = match step::model_step(llm, request, &sink).await {
                Ok(output) => {
                    if let (Some(compactor), Some(state), true) =
                        (&self.compactor, compaction.as_mut(), output.usage.input > 0 && estimated > 0)
                    {
                        compactor.observe_usage(&input.chat_id, state, estimated, output.usage.input).await;
                    }
                    usage.add(output.usage);
                    output.calls
                }
                Err(error) => {
                    step::failed(&sink, &error);
                    return FinishReason::Error;
                }
            };
            // A step ends after its tool calls ran, as in the AI SDK's own streams.
            let ran_tools = !calls.is_empty();
            let round = step::run_tools(&self.scheduler, calls, &input, &sink).await;
            sink.emit(UiChunk::FinishStep);
            if round.waiting_for_client {
                // The client runs these (a wallet signs); the turn goes on when it sends the outcome.
                return FinishReason::ToolCalls;
            }
            if !ran_tools {
                return FinishReason::Stop;
            }
        }
        text_step(
            &sink,
            format!(
                "I stopped after {} steps without reaching an answer. Ask me to continue if you want me to go on.",
                self.config.max_steps
            ),
        );
        FinishReason::Other
    }

    /// Runs a direct command: one step with one tool call, streamed like a model's, no model.
    async fn run_command(
        &self,
        command: Result<Command, String>,
        input: &TurnInput,
        sink: &dyn TurnSink,
    ) -> FinishReason {
        let (tool, args) = match command {
            Ok(Command::Tool { tool, args }) => (tool, args),
            Ok(Command::Help) => {
                text_step(sink, commands::help());
                return FinishReason::Stop;
            }
            Err(usage) => {
                text_step(sink, usage);
                return FinishReason::Stop;
            }
        };
        if self.scheduler.registry().get(&tool).is_none() {
            text_step(sink, format!("This command needs the tool {tool}, which this app does not offer."));
            return FinishReason::Stop;
        }
        let call = ToolCallRequest { id: new_id("cmd"), name: tool, arguments: args };
        sink.emit(UiChunk::StartStep);
        step::emit_call_input(sink, &call);
        self.scheduler.run_all(vec![call], &input.chat_id, input.wallet.as_ref(), &input.origin(), sink).await;
        sink.emit(UiChunk::FinishStep);
        FinishReason::Stop
    }
}

/// The history the model may see (the oldest messages beyond `budget` estimated tokens left out,
/// with a note in their place), and the assistant message the turn writes into: the last one when
/// the turn continues it (a client tool's output came back), else a new one.
pub fn split_history(input: &TurnInput, budget: usize) -> (Vec<ChatMessage>, ChatMessage) {
    split_off_current(aomi_llm::history::within_budget(input.history.clone(), budget))
}

/// `history` without the assistant message the turn writes into: its last message when the turn
/// continues it, else a new one.
fn split_off_current(mut history: Vec<ChatMessage>) -> (Vec<ChatMessage>, ChatMessage) {
    let current = match history.last() {
        Some(last) if last.role == Role::Assistant => history.pop(),
        _ => None,
    }
    .unwrap_or_else(|| ChatMessage::assistant(new_id("msg")));
    (history, current)
}

/// A request's estimated tokens, counted as [`aomi_llm::history::estimate_tokens`] counts a
/// message (four bytes of JSON a token): its system prompt and messages, plus `tool_tokens` for
/// its tools (serialising every tool's schema per request cost a tenth of a text turn).
fn estimate_request(request: &ModelRequest, tool_tokens: usize) -> usize {
    let messages: usize = request.messages.iter().map(aomi_llm::history::estimate_tokens).sum();
    request.system.len().div_ceil(4) + messages + tool_tokens
}

/// What the model is told of the wallet.
pub fn wallet_sentence(wallet: Option<&WalletContext>) -> String {
    match wallet {
        Some(WalletContext { address: Some(address), chain_id }) => {
            format!("The user's wallet is {address}, on chain id {chain_id}.")
        }
        Some(WalletContext { address: None, chain_id }) => {
            format!("No wallet is connected; the selected network is chain id {chain_id}.")
        }
        None => "No wallet is connected.".to_owned(),
    }
}

/// The model an app with a loop of its own (batch, explore) runs this turn on: none when the turn
/// is the linear loop's (a direct command, a turn without a model, a turn that goes on after the
/// wallet answered).
pub(crate) fn own_loop_model<'m>(llm: Option<&'m LlmClient>, input: &TurnInput) -> Option<&'m LlmClient> {
    let continuation = input.history.last().is_some_and(|m| m.role == Role::Assistant);
    llm.filter(|_| !continuation && direct_command(&input.history).is_none())
}

/// Messages of the conversation a planner reads, at most (the newest).
const PLANNER_MESSAGES: usize = 12;

/// What a planner reads after its tools: the wallet, then the newest messages of the chat as
/// `User:`/`Assistant:` lines (the batch and explore apps' planners).
pub(crate) fn planner_conversation(input: &TurnInput) -> String {
    let mut text = format!("\n{}\n\nConversation (newest last):\n", wallet_sentence(input.wallet.as_ref()));
    let skip = input.history.len().saturating_sub(PLANNER_MESSAGES);
    for message in &input.history[skip..] {
        let who = if message.role == Role::User { "User" } else { "Assistant" };
        text.push_str(&format!("{who}: {}\n", message.text()));
    }
    text
}

/// The direct command in the turn's new message, if it is one.
pub(crate) fn direct_command(history: &[ChatMessage]) -> Option<Result<Command, String>> {
    let last = history.last().filter(|m| m.role == Role::User)?;
    commands::parse(&last.text())
}
