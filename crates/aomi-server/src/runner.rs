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
    /// How long a completed unit waits for the turn's next parts before it is stored
    /// ([`BackendOptions::unit_settle`](crate::BackendOptions::unit_settle)).
    pub settle: Duration,
}

/// Runs the turn; frees the chat (store, then `guard`) and closes the log at the end.
pub(crate) async fn run(turn: Turn, guard: RunningGuard) {
    let Turn { store, app, mut input, assistant, turn_id, log, stopping, cancel, title, watch, tasks, settle } = turn;
    let chat_id = input.chat_id.clone();
    let (feed, to_store) = Feed::new(store.is_shared());
    let sink = Recorder { log: Arc::clone(&log), feed, watch };
    let message_id = assistant.id.clone();
    if !assistant.parts.is_empty() {
        input.history.push(assistant.clone());
    }
    let first_answer = input.history.iter().find(|m| m.role == aomi_core::Role::Assistant).cloned();

    let persister = tasks.spawn(persist(
        Arc::clone(&store),
        chat_id.clone(),
        turn_id.clone(),
        assistant,
        log.prior(),
        to_store,
        settle,
    ));

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
    // Closing the feed ends the persister's input.
    let Recorder { watch, feed, log: _ } = sink;
    feed.close();
    // The stream ends only after the last step is stored and the turn ended in the store, so a
    // client that reads the history or sends the next message right after `finish` (to this
    // instance or another) sees all of it.
    let persisted = match persister.await {
        Ok(persisted) => Some(persisted),
        Err(error) => {
            tracing::error!(%error, "the persister task failed");
            None
        }
    };
    let ended = match &persisted {
        // The message's last save and the turn's end: one commit.
        Some(Persisted { message, unsaved: true }) => {
            match store.end_turn_with_message(&turn_id, state, &chat_id, message).await {
                Ok(()) => Ok(()),
                // The turn must end even when its message cannot be stored, or its chat would
                // refuse every next turn.
                Err(error) => {
                    tracing::error!(%error, "could not store the assistant message");
                    store.end_turn(&turn_id, state).await
                }
            }
        }
        _ => store.end_turn(&turn_id, state).await,
    };
    if let Err(error) = ended {
        tracing::error!(%error, "could not end the turn in the store");
    }
    let answer = persisted.map(|persisted| persisted.message);
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

/// What the persister leaves when the turn's parts end: the final message, and whether its last
/// state is still to be stored (with the turn's end, [`TurnStore::end_turn_with_message`]).
///
/// [`TurnStore::end_turn_with_message`]: aomi_store::TurnStore::end_turn_with_message
struct Persisted {
    message: ChatMessage,
    unsaved: bool,
}

/// Commits the assistant message at every completed unit (and every [`CHECKPOINT`] while a long
/// block streams), publishes the parts when the store is shared, and keeps the turn's heartbeat.
/// The last batch (the one with `finish` or `abort`) is left unsaved on a store of this instance
/// alone: the runner stores it with the turn's end, in one commit. A shared store saves it here,
/// before its parts are published, so that a follower that sees `finish` finds the message stored.
///
/// On a store of this instance alone a completed unit is stored `settle` later, unless the turn
/// ends first: a unit that completes as the turn ends (a direct command's tool result) is then
/// stored with the end, in its one commit, instead of in a commit of its own just before it. The
/// stream does not wait for either.
async fn persist(
    store: Arc<dyn Store>,
    chat_id: String,
    turn_id: String,
    assistant: ChatMessage,
    prior: Vec<UiChunk>,
    mut batches: mpsc::UnboundedReceiver<Vec<UiChunk>>,
    settle: Duration,
) -> Persisted {
    let shared = store.is_shared();
    let mut assembler = MessageAssembler::new(assistant);
    let mut published: u64 = 0;
    // Parts not yet in the store (kept across a failed write so that part numbers stay contiguous).
    let mut unpublished: Vec<UiChunk> = Vec::new();
    let mut stored_at = Instant::now();
    let mut unsaved = false;
    let period = store.heartbeat_interval();
    let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
    // When the message, a unit further, is stored if the turn has not ended by then.
    let mut due: Option<Instant> = None;
    loop {
        let mut batch = tokio::select! {
            batch = batches.recv() => match batch {
                Some(batch) => batch,
                None => break,
            },
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                due = None;
                unsaved = !save(&*store, &chat_id, assembler.message()).await;
                stored_at = Instant::now();
                continue;
            }
            _ = heartbeat.tick(), if shared => {
                if let Err(error) = store.heartbeat_turn(&turn_id).await {
                    tracing::warn!(%error, "could not refresh the turn's heartbeat");
                }
                continue;
            }
        };
        while batch.len() < MAX_BATCH {
            match batches.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let mut completed = false;
        for part in &batch {
            completed |= assembler.apply(part);
        }
        unsaved = true;
        let last = batch.last().is_some_and(UiChunk::is_terminal);
        // A held feed sends a batch that ends in a delta only at its checkpoint.
        let checkpoint = stored_at.elapsed() >= CHECKPOINT || (!shared && batch.last().is_some_and(UiChunk::is_delta));
        if shared {
            // The message first: a follower that sees `finish` finds the message stored.
            if completed || checkpoint {
                unsaved = !save(&*store, &chat_id, assembler.message()).await;
                stored_at = Instant::now();
            }
        } else if last {
            // The runner stores it with the turn's end.
            due = None;
        } else if completed || checkpoint {
            due.get_or_insert_with(|| Instant::now() + settle);
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
    if unsaved && shared {
        unsaved = !save(&*store, &chat_id, assembler.message()).await;
    }
    if !unpublished.is_empty()
        && let Err(error) = store.append_turn_parts(&turn_id, published, &unpublished).await
    {
        tracing::error!(%error, "could not publish the turn's last parts");
    }
    Persisted { message: assembler.into_message(), unsaved }
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
    feed: Feed,
    watch: TurnWatch,
}

impl TurnSink for Recorder {
    fn emit(&self, chunk: UiChunk) -> bool {
        self.watch.observe(&chunk);
        self.log.push(chunk.clone());
        self.feed.push(chunk)
    }
}

/// Hands a turn's parts to its persister in batches. A delta never completes a unit to store, so
/// deltas wait here until the next other part (or [`CHECKPOINT`]) instead of waking the persister
/// each: a text turn's 55 deltas were 55 task wake-ups, often a parked thread's, for nothing to
/// store (docs/benchmarks.md). On a shared store every part goes at once: followers on other
/// instances read the parts the persister publishes.
struct Feed {
    sender: mpsc::UnboundedSender<Vec<UiChunk>>,
    eager: bool,
    held: std::sync::Mutex<Held>,
}

/// The parts a [`Feed`] holds, and when it last sent.
struct Held {
    parts: Vec<UiChunk>,
    sent_at: Instant,
}

impl Feed {
    /// A feed, eager when `shared`, and the persister's end of it.
    fn new(shared: bool) -> (Feed, mpsc::UnboundedReceiver<Vec<UiChunk>>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let held = std::sync::Mutex::new(Held { parts: Vec::new(), sent_at: Instant::now() });
        (Feed { sender, eager: shared, held }, receiver)
    }

    /// Adds a part; false once the persister is gone.
    fn push(&self, chunk: UiChunk) -> bool {
        // The lock is never held across an await or a call that can panic: recover from poison.
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let hold = !self.eager && chunk.is_delta() && held.sent_at.elapsed() < CHECKPOINT;
        held.parts.push(chunk);
        if hold {
            return !self.sender.is_closed();
        }
        held.sent_at = Instant::now();
        let parts = std::mem::take(&mut held.parts);
        self.sender.send(parts).is_ok()
    }

    /// Sends what it holds and ends the persister's input.
    fn close(self) {
        let held = self.held.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !held.parts.is_empty() {
            let _ = self.sender.send(held.parts);
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use aomi_store::NewChat;
    use serde_json::json;

    use super::*;

    /// A SQLite store holding the chat `c`, and its persister's input.
    async fn started(
        settle: Duration,
    ) -> (Arc<dyn Store>, mpsc::UnboundedSender<Vec<UiChunk>>, tokio::task::JoinHandle<Persisted>) {
        let store = aomi_store::connect("sqlite::memory:").await.unwrap();
        let chat = NewChat { id: "c".into(), owner: None, app: "default".into(), chain_id: None, model: None };
        store.ensure_chat(chat).await.unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        let persister = tokio::spawn(persist(
            Arc::clone(&store),
            "c".into(),
            "t".into(),
            ChatMessage::assistant("a"),
            Vec::new(),
            receiver,
            settle,
        ));
        (store, sender, persister)
    }

    fn tool_result() -> Vec<UiChunk> {
        vec![
            UiChunk::Start { message_id: Some("a".into()), message_metadata: None },
            UiChunk::StartStep,
            UiChunk::ToolInputAvailable {
                tool_call_id: "call".into(),
                tool_name: "get_current_time".into(),
                input: json!({}),
            },
            UiChunk::ToolOutputAvailable { tool_call_id: "call".into(), output: json!({"now": 1}), preliminary: None },
        ]
    }

    #[tokio::test]
    async fn a_unit_completed_as_the_turn_ends_is_left_to_the_end_commit() {
        let (store, sender, persister) = started(Duration::from_secs(30)).await;
        sender.send(tool_result()).unwrap();
        // Well past the moment a save without the settle would have been made.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(store.messages("c").await.unwrap().is_empty(), "nothing stored before the turn's end");
        sender
            .send(vec![UiChunk::FinishStep, UiChunk::Finish { finish_reason: None, message_metadata: None }])
            .unwrap();
        drop(sender);
        let persisted = persister.await.unwrap();
        assert!(persisted.unsaved, "the runner stores it with the turn's end");
        assert!(store.messages("c").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_unit_completed_while_the_turn_goes_on_is_stored_after_the_settle() {
        let (store, sender, persister) = started(Duration::from_millis(10)).await;
        sender.send(tool_result()).unwrap();
        let mut stored = Vec::new();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            stored = store.messages("c").await.unwrap();
            if !stored.is_empty() {
                break;
            }
        }
        assert_eq!(stored.len(), 1, "the tool's result is stored before the turn ends");
        assert!(stored[0].parts.iter().any(|part| matches!(part, aomi_core::MessagePart::Tool(_))), "{stored:?}");
        drop(sender);
        assert!(!persister.await.unwrap().unsaved, "nothing is left for the end to store");
    }
}
