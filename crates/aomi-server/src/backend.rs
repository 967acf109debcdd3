//! The chat backend: turns, their logs, and history.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use aomi_agent::AppRegistry;
use aomi_core::backend::PartStream;
use aomi_core::{
    AomiApp, BackendError, BoxFuture, ChatBackend, ChatMessage, FinishReason, MessageAssembler, MessagePart, Role,
    ToolState, TurnInput, TurnRequest, TurnSink, UiChunk,
};
use aomi_store::{ChatRecord, ChatStore, NewChat};
use futures::FutureExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::turn_log::TurnLog;

/// What a dangling tool call (never answered by the client) says once a new message moved on.
const NOT_SENT: &str = "not sent: the conversation moved on before this call was answered";

/// The chat backend: apps, a store, and the turns running now.
pub struct Backend {
    apps: AppRegistry,
    store: Arc<dyn ChatStore>,
    running: RunningTurns,
}

/// The logs of the turns running now, by chat id.
type RunningTurns = Arc<Mutex<HashMap<String, Arc<TurnLog>>>>;

fn lock(running: &RunningTurns) -> MutexGuard<'_, HashMap<String, Arc<TurnLog>>> {
    running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("apps", &self.apps).finish_non_exhaustive()
    }
}

/// Removes a chat from the running turns when dropped, so that no path (error, panic) leaves a
/// chat refusing new turns.
struct RunningGuard {
    running: RunningTurns,
    chat_id: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.chat_id);
    }
}

impl Backend {
    /// A backend over these apps and this store.
    pub fn new(apps: AppRegistry, store: Arc<dyn ChatStore>) -> Arc<Self> {
        Arc::new(Backend { apps, store, running: Arc::default() })
    }

    /// The apps served.
    pub fn apps(&self) -> &AppRegistry {
        &self.apps
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ChatStore> {
        &self.store
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, Arc<TurnLog>>> {
        lock(&self.running)
    }

    /// The log of the chat's running turn, if one runs.
    pub fn running_log(&self, chat_id: &str) -> Option<Arc<TurnLog>> {
        self.running().get(chat_id).cloned()
    }

    /// True while a turn runs in the chat.
    pub fn is_running(&self, chat_id: &str) -> bool {
        self.running().contains_key(chat_id)
    }

    /// The chat's record.
    pub async fn chat(&self, chat_id: &str) -> Result<Option<ChatRecord>, BackendError> {
        Ok(self.store.chat(chat_id).await?)
    }

    /// Starts a turn and returns its log; see [`ChatBackend::submit`].
    pub async fn start_turn(&self, request: TurnRequest) -> Result<Arc<TurnLog>, BackendError> {
        let app = self.apps.get(&request.app).ok_or_else(|| BackendError::UnknownApp {
            name: request.app.clone(),
            known: self.apps.names().join(", "),
        })?;
        let log = TurnLog::new();
        {
            let mut running = self.running();
            if running.contains_key(&request.chat_id) {
                return Err(BackendError::TurnRunning(request.chat_id));
            }
            running.insert(request.chat_id.clone(), Arc::clone(&log));
        }
        let guard = RunningGuard { running: Arc::clone(&self.running), chat_id: request.chat_id.clone() };
        let (history, assistant) = self.prepare(&request).await?;
        let input = TurnInput { chat_id: request.chat_id.clone(), history, wallet: request.wallet.clone() };
        let span = tracing::info_span!("turn", chat_id = %request.chat_id, app = %request.app);
        tokio::spawn(
            run_turn(Arc::clone(&self.store), app, input, assistant, Arc::clone(&log), guard).instrument(span),
        );
        Ok(log)
    }

    /// Stores the new message and returns the history the app sees, plus the assistant message the
    /// turn writes into (a new one, or the one whose client tool call just got its output).
    async fn prepare(&self, request: &TurnRequest) -> Result<(Vec<ChatMessage>, ChatMessage), BackendError> {
        let exists = self.store.chat(&request.chat_id).await?.is_some();
        if !exists && request.message.role == Role::Assistant {
            return Err(BackendError::BadRequest(format!(
                "assistant message {} is not in this chat; only a client tool's output can be sent back",
                request.message.id
            )));
        }
        let owner = request.wallet.as_ref().and_then(|w| w.address.as_ref()).map(|a| a.to_lowercase());
        self.store.ensure_chat(NewChat { id: request.chat_id.clone(), owner, app: request.app.clone() }).await?;
        let mut history = self.store.messages(&request.chat_id).await?;
        let chat_id = request.chat_id.as_str();
        match request.message.role {
            Role::User => {
                // A tool call left open (a wallet request never answered) is closed as not sent.
                for message in history.iter_mut().filter(|m| m.role == Role::Assistant) {
                    if close_open_calls(message) {
                        self.store.put_message(chat_id, message).await?;
                    }
                }
                if history.iter().any(|m| m.id == request.message.id) {
                    return Err(BackendError::BadRequest(format!(
                        "message {} is already in this chat; send a new message id",
                        request.message.id
                    )));
                }
                self.store.put_message(chat_id, &request.message).await?;
                history.push(request.message.clone());
                Ok((history, ChatMessage::assistant(new_message_id())))
            }
            Role::Assistant => {
                let position = history
                    .iter()
                    .rposition(|m| m.id == request.message.id && m.role == Role::Assistant)
                    .ok_or_else(|| {
                        BackendError::BadRequest(format!(
                            "assistant message {} is not in this chat; only a client tool's output can be sent back",
                            request.message.id
                        ))
                    })?;
                let stored = &mut history[position];
                let answered = apply_client_outputs(stored, &request.message)?;
                if answered == 0 {
                    return Err(BackendError::BadRequest("the message answers no open tool call of this chat".into()));
                }
                self.store.put_message(chat_id, stored).await?;
                history.truncate(position + 1);
                let assistant = history.pop().unwrap_or_else(|| ChatMessage::assistant(new_message_id()));
                Ok((history, assistant))
            }
            Role::System => Err(BackendError::BadRequest("a client cannot send a system message".into())),
        }
    }
}

/// Runs one turn to its end: streams every part to `log`, stores the assistant message at every
/// completed step, and frees the chat for its next turn.
async fn run_turn(
    store: Arc<dyn ChatStore>,
    app: Arc<dyn AomiApp>,
    mut input: TurnInput,
    assistant: ChatMessage,
    log: Arc<TurnLog>,
    guard: RunningGuard,
) {
    let chat_id = input.chat_id.clone();
    let (commits, mut to_store) = mpsc::unbounded_channel::<UiChunk>();
    let sink = Recorder { log: Arc::clone(&log), commits };
    let message_id = assistant.id.clone();
    let continues = !assistant.parts.is_empty();
    if continues {
        input.history.push(assistant.clone());
    }

    // Persists the assistant message at every completed unit, in order, off the streaming path.
    let persist_chat = chat_id.clone();
    let persister = tokio::spawn(async move {
        let mut assembler = MessageAssembler::new(assistant);
        while let Some(chunk) = to_store.recv().await {
            if assembler.apply(&chunk)
                && let Err(error) = store.put_message(&persist_chat, assembler.message()).await
            {
                tracing::error!(%error, "could not store the assistant message");
            }
        }
        assembler.into_message()
    });

    sink.emit(UiChunk::Start { message_id: Some(message_id), message_metadata: None });
    let outcome = AssertUnwindSafe(app.run_turn(input, &sink)).catch_unwind().await;
    let reason = match outcome {
        Ok(Ok(reason)) => reason,
        Ok(Err(error)) => {
            sink.emit(UiChunk::Error { error_text: error.to_string() });
            FinishReason::Error
        }
        Err(_) => {
            tracing::error!("the app panicked during a turn");
            sink.emit(UiChunk::Error { error_text: "Something went wrong inside aomi; the turn stopped.".into() });
            FinishReason::Error
        }
    };
    let metadata = (reason == FinishReason::Error).then(|| serde_json::json!({ "incomplete": true }));
    sink.emit(UiChunk::Finish { finish_reason: Some(reason), message_metadata: metadata });
    drop(sink);
    // The stream ends only after the last step is stored, so a client that reads the history
    // right after `finish` sees all of it.
    if let Err(error) = persister.await {
        tracing::error!(%error, "the persister task failed");
    }
    drop(guard);
    log.close();
    tracing::info!(?reason, parts = log.len(), "turn ended");
}

/// The sink of a running turn: every part goes to the log (readers see it at once) and to the
/// persister.
struct Recorder {
    log: Arc<TurnLog>,
    commits: mpsc::UnboundedSender<UiChunk>,
}

impl TurnSink for Recorder {
    fn emit(&self, chunk: UiChunk) -> bool {
        self.log.push(chunk.clone());
        self.commits.send(chunk).is_ok()
    }
}

/// Closes tool calls still waiting for input or for the client. Returns true if any changed.
fn close_open_calls(message: &mut ChatMessage) -> bool {
    let mut changed = false;
    for part in &mut message.parts {
        if let MessagePart::Tool(tool) = part
            && matches!(tool.state, ToolState::InputStreaming | ToolState::InputAvailable)
        {
            tool.state = ToolState::OutputError;
            tool.error_text = Some(NOT_SENT.into());
            changed = true;
        }
    }
    changed
}

/// Copies the outputs of client tool calls from `incoming` into the stored message. Returns how
/// many open calls got an answer.
fn apply_client_outputs(stored: &mut ChatMessage, incoming: &ChatMessage) -> Result<usize, BackendError> {
    let mut answered = 0;
    for reply in incoming.tool_parts() {
        if !matches!(reply.state, ToolState::OutputAvailable | ToolState::OutputError) {
            continue;
        }
        let open = stored.parts.iter_mut().find_map(|part| match part {
            MessagePart::Tool(tool) if tool.tool_call_id == reply.tool_call_id => Some(tool),
            _ => None,
        });
        let Some(open) = open else {
            return Err(BackendError::BadRequest(format!("no tool call {} in this message", reply.tool_call_id)));
        };
        if open.state != ToolState::InputAvailable {
            continue;
        }
        open.state = reply.state;
        open.output = reply.output.clone();
        open.error_text = reply.error_text.clone();
        answered += 1;
    }
    Ok(answered)
}

fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

impl ChatBackend for Backend {
    fn submit(&self, request: TurnRequest) -> BoxFuture<'_, Result<Box<dyn PartStream>, BackendError>> {
        Box::pin(async move {
            let log = self.start_turn(request).await?;
            Ok(Box::new(log.reader(0)) as Box<dyn PartStream>)
        })
    }

    fn resume<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<Box<dyn PartStream>>, BackendError>> {
        Box::pin(async move { Ok(self.running_log(chat_id).map(|log| Box::new(log.reader(0)) as Box<dyn PartStream>)) })
    }

    fn messages<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatMessage>, BackendError>> {
        Box::pin(async move { Ok(self.store.messages(chat_id).await?) })
    }
}
