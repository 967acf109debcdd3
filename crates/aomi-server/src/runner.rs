//! Runs one turn to its end: streams its parts to the local log, commits the assistant message as
//! steps complete, publishes the parts for other instances, and ends the turn in the store.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use aomi_core::{AomiApp, ChatMessage, FinishReason, MessageAssembler, TurnInput, TurnSink, UiChunk};
use aomi_store::{Store, TurnState};
use futures::FutureExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::RunningGuard;
use crate::metrics::{TurnOutcome, TurnWatch};
use crate::title::Titler;
use crate::turn_log::TurnLog;

/// How often a long text block is stored while it streams, so a crash loses little of it.
const CHECKPOINT: Duration = Duration::from_secs(1);

/// The most parts written to the store in one batch.
const MAX_BATCH: usize = 256;

/// What a turn cut off by a shutdown says, as its last `error` part (stored with the message, so
/// the page shows it after a reload too).
const STOPPED: &str = "aomi is restarting (or shutting down) and stopped while answering; this answer is \
                       incomplete. Send your message again to continue.";

/// Why a turn stopped by its user ended, as its `abort` part says.
const USER_STOPPED: &str = "stopped by the user";

/// What a tool call cut off by a stop request says.
const USER_CUT_TOOL: &str = "stopped by the user before it finished";

/// What a tool call cut off by a shutdown says.
const SHUTDOWN_CUT_TOOL: &str = "aomi stopped before this call finished";

/// One turn, ready to run.
pub(crate) struct Turn {
    pub store: Arc<dyn Store>,
    pub app: Arc<dyn AomiApp>,
    pub input: TurnInput,
    /// The assistant message the turn writes into.
    pub assistant: ChatMessage,
    pub turn_id: String,
    pub log: Arc<TurnLog>,
    /// Cancelled when the server shuts down.
    pub stopping: CancellationToken,
    /// Cancelled when the server shuts down or the user stops this turn (a child of `stopping`).
    pub cancel: CancellationToken,
    /// Set when the chat has no title yet: who makes it, and the chat's first user message.
    pub title: Option<(Titler, ChatMessage)>,
    /// The turn's metrics.
    pub watch: TurnWatch,
    /// The backend's tasks: the turn's persister and its title run there.
    pub tasks: TaskTracker,
}

/// Runs the turn; frees the chat (store, then `guard`) and closes the log at the end.
pub(crate) async fn run(turn: Turn, guard: RunningGuard) {
    let Turn { store, app, mut input, assistant, turn_id, log, stopping, cancel, title, watch, tasks } = turn;
    let chat_id = input.chat_id.clone();
    let (commits, to_store) = mpsc::unbounded_channel::<UiChunk>();
    let sink = Recorder { log: Arc::clone(&log), commits, watch };
    let message_id = assistant.id.clone();
    if !assistant.parts.is_empty() {
        input.history.push(assistant.clone());
    }
    let first_answer = input.history.iter().find(|m| m.role == aomi_core::Role::Assistant).cloned();

    let persister =
        tasks.spawn(persist(Arc::clone(&store), chat_id.clone(), turn_id.clone(), assistant, log.prior(), to_store));

    sink.emit(UiChunk::Start { message_id: Some(message_id), message_metadata: None });
    let hooks = app.turn_hooks();
    let turn = async {
        // The per-turn hooks of the app's tools (the wallet's chain selects the chat's network)
        // run here, for every app, before anything of the turn runs.
        for hook in &hooks {
            hook.begin_turn(&input.chat_id, input.wallet.as_ref());
        }
        app.run_turn(input, &sink).await
    };
    let outcome = tokio::select! {
        outcome = AssertUnwindSafe(turn).catch_unwind() => Some(outcome),
        () = cancel.cancelled() => None,
    };
    let failed = |error_text: String| {
        sink.emit(UiChunk::Error { error_text });
        UiChunk::Finish {
            finish_reason: Some(FinishReason::Error),
            message_metadata: Some(json!({ "incomplete": true })),
        }
    };
    let (last, state) = match outcome {
        Some(Ok(Ok(reason))) => {
            (UiChunk::Finish { finish_reason: Some(reason), message_metadata: None }, TurnState::Finished)
        }
        Some(Ok(Err(error))) => (failed(error.to_string()), TurnState::Finished),
        Some(Err(_)) => {
            tracing::error!("the app panicked during a turn");
            (failed("Something went wrong inside aomi; the turn stopped.".into()), TurnState::Finished)
        }
        None => {
            let by_user = !stopping.is_cancelled();
            // Dropping the turn's future dropped the model call and the tools in flight: close what
            // they left open, so the client shows no block still streaming and no tool still running.
            for part in close_open_parts(&log.parts(), if by_user { USER_CUT_TOOL } else { SHUTDOWN_CUT_TOOL }) {
                sink.emit(part);
            }
            if by_user {
                // An ordinary end of the stream for the AI SDK (no `error`, which it shows as a
                // failure), and a marker in the stored message that a crash or a shutdown
                // (`incomplete` alone) does not set.
                sink.emit(UiChunk::MessageMetadata {
                    message_metadata: json!({ "incomplete": true, "stopped": true }),
                });
                (UiChunk::Abort { reason: Some(USER_STOPPED.into()) }, TurnState::Finished)
            } else {
                (failed(STOPPED.into()), TurnState::Interrupted)
            }
        }
    };
    let ending = match &last {
        UiChunk::Finish { finish_reason: Some(reason), .. } => format!("{reason:?}"),
        _ => "stopped by the user".to_owned(),
    };
    let counted = match (&last, state) {
        (_, TurnState::Interrupted) => TurnOutcome::Interrupted,
        (UiChunk::Abort { .. }, _) => TurnOutcome::Stopped,
        (UiChunk::Finish { finish_reason: Some(FinishReason::Error), .. }, _) => TurnOutcome::Error,
        _ => TurnOutcome::Finished,
    };
    sink.emit(last);
    // Dropping the sender ends the persister's input.
    let Recorder { watch, commits, log: _ } = sink;
    drop(commits);
    // The stream ends only after the last step is stored and the turn ended in the store, so a
    // client that reads the history or sends the next message right after `finish` (to this
    // instance or another) sees all of it.
    let answer = match persister.await {
        Ok(answer) => Some(answer),
        Err(error) => {
            tracing::error!(%error, "the persister task failed");
            None
        }
    };
    if let Err(error) = store.end_turn(&turn_id, state).await {
        tracing::error!(%error, "could not end the turn in the store");
    }
    drop(guard);
    watch.end(counted);
    log.close();
    tracing::info!(%ending, parts = log.len(), "turn ended");

    if let (Some((titler, user)), Some(answer), TurnState::Finished) = (title, answer, state) {
        let answer = first_answer.unwrap_or(answer);
        // A title is not worth delaying a shutdown for: the next turn makes it.
        tasks.spawn(async move {
            tokio::select! {
                () = titler.title_chat(store, chat_id, user, answer) => {}
                () = stopping.cancelled() => {}
            }
        });
    }
}

/// Commits the assistant message at every completed unit (and every [`CHECKPOINT`] while a long
/// block streams), publishes the parts when the store is shared, and keeps the turn's heartbeat.
/// Returns the final message.
async fn persist(
    store: Arc<dyn Store>,
    chat_id: String,
    turn_id: String,
    assistant: ChatMessage,
    prior: Vec<UiChunk>,
    mut parts: mpsc::UnboundedReceiver<UiChunk>,
) -> ChatMessage {
    let shared = store.is_shared();
    let mut assembler = MessageAssembler::new(assistant);
    let mut published: u64 = 0;
    // Parts not yet in the store (kept across a failed write so that part numbers stay contiguous).
    let mut unpublished: Vec<UiChunk> = Vec::new();
    let mut stored_at = Instant::now();
    let mut unsaved = false;
    let period = store.heartbeat_interval();
    let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
    loop {
        let first = tokio::select! {
            part = parts.recv() => match part {
                Some(part) => part,
                None => break,
            },
            _ = heartbeat.tick(), if shared => {
                if let Err(error) = store.heartbeat_turn(&turn_id).await {
                    tracing::warn!(%error, "could not refresh the turn's heartbeat");
                }
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match parts.try_recv() {
                Ok(part) => batch.push(part),
                Err(_) => break,
            }
        }
        let mut completed = false;
        for part in &batch {
            completed |= assembler.apply(part);
        }
        unsaved = true;
        // The message first: a follower that sees `finish` finds the message stored.
        if completed || stored_at.elapsed() >= CHECKPOINT {
            unsaved = !save(&*store, &chat_id, assembler.message()).await;
            stored_at = Instant::now();
        }
        if shared {
            for part in batch {
                let start = matches!(part, UiChunk::Start { .. });
                unpublished.push(part);
                // Followers on other instances re-attach as a reload does: after `start`, the
                // message's earlier parts (a continued answer), which this instance's log keeps aside.
                if start {
                    unpublished.extend(prior.iter().cloned());
                }
            }
            match store.append_turn_parts(&turn_id, published, &unpublished).await {
                Ok(()) => {
                    published += unpublished.len() as u64;
                    unpublished.clear();
                }
                Err(error) => tracing::warn!(%error, "could not publish the turn's parts; retrying with the next ones"),
            }
        }
    }
    if unsaved {
        save(&*store, &chat_id, assembler.message()).await;
    }
    if !unpublished.is_empty()
        && let Err(error) = store.append_turn_parts(&turn_id, published, &unpublished).await
    {
        tracing::error!(%error, "could not publish the turn's last parts");
    }
    assembler.into_message()
}

/// Stores the message; true on success (a failure is logged, and the next save retries).
async fn save(store: &dyn Store, chat_id: &str, message: &ChatMessage) -> bool {
    match store.put_message(chat_id, message).await {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, "could not store the assistant message");
            false
        }
    }
}

/// The sink of a running turn: every part goes to the log (readers see it at once) and to the
/// persister.
struct Recorder {
    log: Arc<TurnLog>,
    commits: mpsc::UnboundedSender<UiChunk>,
    watch: TurnWatch,
}

impl TurnSink for Recorder {
    fn emit(&self, chunk: UiChunk) -> bool {
        self.watch.observe(&chunk);
        self.log.push(chunk.clone());
        self.commits.send(chunk).is_ok()
    }
}

/// The parts that close what a cut-off turn left open: `text-end` / `reasoning-end` for every
/// block begun and not ended, and `tool-output-error` with `error_text` for every tool call that
/// has no result yet.
fn close_open_parts(parts: &[UiChunk], error_text: &str) -> Vec<UiChunk> {
    let mut text: Vec<&str> = Vec::new();
    let mut reasoning: Vec<&str> = Vec::new();
    let mut tools: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            UiChunk::TextStart { id } => text.push(id),
            UiChunk::TextEnd { id } => text.retain(|open| open != id),
            UiChunk::ReasoningStart { id } => reasoning.push(id),
            UiChunk::ReasoningEnd { id } => reasoning.retain(|open| open != id),
            UiChunk::ToolInputStart { tool_call_id, .. } | UiChunk::ToolInputAvailable { tool_call_id, .. }
                if !tools.contains(&tool_call_id.as_str()) =>
            {
                tools.push(tool_call_id)
            }
            UiChunk::ToolOutputAvailable { tool_call_id, preliminary: None | Some(false), .. }
            | UiChunk::ToolOutputError { tool_call_id, .. }
            | UiChunk::ToolInputError { tool_call_id, .. } => tools.retain(|open| open != tool_call_id),
            _ => {}
        }
    }
    let text = text.into_iter().map(|id| UiChunk::TextEnd { id: id.to_owned() });
    let reasoning = reasoning.into_iter().map(|id| UiChunk::ReasoningEnd { id: id.to_owned() });
    let tools = tools
        .into_iter()
        .map(|id| UiChunk::ToolOutputError { tool_call_id: id.to_owned(), error_text: error_text.to_owned() });
    text.chain(reasoning).chain(tools).collect()
}
