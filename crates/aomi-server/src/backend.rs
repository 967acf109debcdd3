//! The chat backend: turns, their logs, history, and the instances that share a store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aomi_agent::AppRegistry;
use aomi_core::backend::PartStream;
use aomi_core::{
    AppSummary, BackendError, BoxFuture, ChatBackend, ChatChange, ChatFork, ChatListPage, ChatListQuery, ChatMessage,
    ChatSummary, CompactionState, MessagePart, ModelSummary, Role, SearchMatch, SearchRequest, StartedTurn,
    StopOutcome, ToolState, TurnInput, TurnRequest, UiChunk,
};
use aomi_store::{
    ChatCursor, ChatQuery, ChatRecord, NewChat, NewTurn, SearchHit, SearchQuery, Store, TurnStart, TurnState,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::follow::StoreFollower;
use crate::metrics::Metrics;
use crate::runner::{self, Turn};
use crate::title::Titler;
use crate::turn_log::TurnLog;

/// What a dangling tool call (never answered by the client) says once a new message moved on.
const NOT_SENT: &str = "not sent: the conversation moved on before this call was answered";

/// How often the backend looks for turns whose instance died and prunes old turn parts.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);

/// How long the parts of an ended turn stay for late followers.
const KEEP_PARTS: Duration = Duration::from_secs(600);

/// How long a stop request waits for the turn it stops to store what it has.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long a shutdown waits for running turns to store what they have, unless configured
/// otherwise ([`BackendOptions::shutdown_grace`]).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Options of a [`Backend`].
#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// How chat titles are made.
    pub titler: Titler,
    /// How long [`Backend::shutdown`] waits for the running turns (and every other task) to end
    /// before it gives up on them (`shutdown_grace_secs`, `AOMI_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// The models a new chat may pick (`GET /api/models`, `"model"` of `POST /api/chat`): the
    /// same routes the apps were given, which answer each turn on its chat's model. Empty by
    /// default: no request may name a model.
    pub models: aomi_llm::ModelRoutes,
    /// How long a turn's completed unit (a tool result, a text block) waits for the turn's next
    /// parts before it is stored, on a store of this instance alone (10 ms). A unit that completes
    /// as the turn ends is then stored with the end, in one commit instead of two; a crash loses at
    /// most this much more of a turn. The stream does not wait for it.
    pub unit_settle: Duration,
}

/// [`BackendOptions::unit_settle`] unless configured.
pub const DEFAULT_UNIT_SETTLE: Duration = Duration::from_millis(10);

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            titler: Titler::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            models: aomi_llm::ModelRoutes::default(),
            unit_settle: DEFAULT_UNIT_SETTLE,
        }
    }
}

/// The chat backend: apps, a store, and the turns running on this instance.
pub struct Backend {
    apps: AppRegistry,
    store: Arc<dyn Store>,
    running: RunningTurns,
    titler: Titler,
    shutdown_grace: Duration,
    unit_settle: Duration,
    models: aomi_llm::ModelRoutes,
    stopping: CancellationToken,
    /// Every task the backend spawns (turns, their persisters, titles, claims released, upkeep),
    /// so that a shutdown waits for them.
    tasks: TaskTracker,
    metrics: Arc<Metrics>,
}

/// A turn running on this instance: its log, and the token that stops it.
#[derive(Debug, Clone)]
struct RunningTurn {
    log: Arc<TurnLog>,
    /// A child of the backend's `stopping`: a shutdown stops every turn, a stop request one.
    cancel: CancellationToken,
}

/// The turns running on this instance, by chat id.
type RunningTurns = Arc<Mutex<HashMap<String, RunningTurn>>>;

fn lock(running: &RunningTurns) -> MutexGuard<'_, HashMap<String, RunningTurn>> {
    running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("apps", &self.apps).field("store", &self.store).finish_non_exhaustive()
    }
}

/// Removes a chat from the running turns and closes its log when dropped, so that no path
/// (error, panic) leaves a chat refusing new turns on this instance, or a reader (a stream, a
/// stop request) waiting for a turn that will never run.
pub(crate) struct RunningGuard {
    running: RunningTurns,
    chat_id: String,
    log: Arc<TurnLog>,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.chat_id);
        self.log.close();
    }
}

/// A turn claimed in the store but not started: ended as interrupted if dropped, so that a
/// request refused after the claim does not leave the chat refusing turns.
struct Claim {
    store: Arc<dyn Store>,
    tasks: TaskTracker,
    turn_id: Option<String>,
}

impl Claim {
    fn keep(mut self) -> String {
        self.turn_id.take().unwrap_or_default()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(turn_id) = self.turn_id.take() {
            let store = Arc::clone(&self.store);
            self.tasks.spawn(async move {
                if let Err(error) = store.end_turn(&turn_id, TurnState::Interrupted).await {
                    tracing::error!(%error, "could not release a refused turn");
                }
            });
        }
    }
}

impl Backend {
    /// A backend over these apps and this store, with default options.
    pub fn new(apps: AppRegistry, store: Arc<dyn Store>) -> Arc<Self> {
        Self::with_options(apps, store, BackendOptions::default())
    }

    /// A backend over these apps and this store.
    pub fn with_options(apps: AppRegistry, store: Arc<dyn Store>, options: BackendOptions) -> Arc<Self> {
        // Tool calls are counted by name only for the tools an app has (a model can invent names).
        let metrics = Metrics::with_tools(apps.apps().flat_map(|app| app.tool_names()));
        Arc::new(Backend {
            apps,
            store,
            running: Arc::default(),
            titler: options.titler,
            shutdown_grace: options.shutdown_grace,
            unit_settle: options.unit_settle,
            models: options.models,
            stopping: CancellationToken::new(),
            tasks: TaskTracker::new(),
            metrics: Arc::new(metrics),
        })
    }

    /// Interrupts the turns a stopped process left (their answers are marked incomplete) and
    /// starts the background upkeep: the same for turns of instances that die later, and pruning
    /// of old turn parts. Call once, before serving.
    pub async fn start(self: &Arc<Self>) -> Result<(), BackendError> {
        let interrupted = self.store.interrupt_stale_turns().await?;
        if !interrupted.is_empty() {
            tracing::warn!(count = interrupted.len(), "marked the answers of interrupted turns incomplete");
        }
        let backend = Arc::downgrade(self);
        let stopping = self.stopping.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + UPKEEP_EVERY, UPKEEP_EVERY);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stopping.cancelled() => return,
                }
                let Some(backend) = backend.upgrade() else { return };
                if let Err(error) = backend.store.interrupt_stale_turns().await {
                    tracing::warn!(%error, "could not look for interrupted turns");
                }
                if let Err(error) = backend.store.prune_turn_parts(KEEP_PARTS).await {
                    tracing::warn!(%error, "could not prune old turn parts");
                }
                let now = chrono::Utc::now().timestamp();
                if let Err(error) = backend.store.prune_nonces(now).await {
                    tracing::warn!(%error, "could not prune expired sign-in nonces");
                }
            }
        });
        Ok(())
    }

    /// Stops the running turns: each ends its stream with an `error` part saying that aomi is
    /// restarting, and stores what it has, marked incomplete, its turn ended as interrupted.
    /// From the first moment the backend is draining: it refuses new turns
    /// ([`BackendError::ShuttingDown`]) and is not ready, so that a load balancer sends the next
    /// requests elsewhere. Waits for every task the backend spawned to end (the shutdown grace at
    /// most), so that the process may exit once this returns.
    pub async fn shutdown(&self) {
        tracing::info!(running = self.running().len(), grace = ?self.shutdown_grace, "draining: new turns are refused");
        self.stopping.cancel();
        self.tasks.close();
        if tokio::time::timeout(self.shutdown_grace, self.tasks.wait()).await.is_err() {
            tracing::warn!(
                tasks = self.tasks.len(),
                "some tasks had not ended when the shutdown's grace period ran out"
            );
        }
    }

    /// True once [`Backend::shutdown`] has begun.
    pub fn is_draining(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// The tracker of every task the backend spawns; a caller that spawns a task tied to a turn
    /// (the HTTP layer's admission permits) adds it here, so that a shutdown waits for it too.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// The apps served.
    pub fn apps(&self) -> &AppRegistry {
        &self.apps
    }

    /// The store (for the wiring and tests; the HTTP routes reach chats through [`ChatBackend`]).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, RunningTurn>> {
        lock(&self.running)
    }

    /// This instance's metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The log of the chat's turn running on this instance, if one runs here.
    pub fn running_log(&self, chat_id: &str) -> Option<Arc<TurnLog>> {
        self.running().get(chat_id).map(|turn| Arc::clone(&turn.log))
    }

    /// Stops the chat's running turn, as its user asked: the model call and the tools in flight
    /// are dropped, the answer so far is stored marked `{"incomplete": true, "stopped": true}`,
    /// and the turn's stream ends with an `abort` part. Waits until the chat is free for the
    /// next message (a few seconds at most). The caller checks that the requester owns the chat.
    pub async fn stop_turn(&self, chat_id: &str) -> Result<StopOutcome, BackendError> {
        let Some(turn) = self.running().get(chat_id).cloned() else {
            // On SQLite a turn is in this map from before its claim until after its end, so the
            // store can only name a turn of another instance (PostgreSQL).
            return Ok(match self.store.running_turn(chat_id).await? {
                Some(_) => StopOutcome::RunningElsewhere,
                None => StopOutcome::NotRunning,
            });
        };
        tracing::info!(chat_id, "stopping the turn at the user's request");
        turn.cancel.cancel();
        // The log closes once the turn has stored its answer and freed the chat.
        let ended = tokio::time::timeout(STOP_GRACE, turn.log.closed()).await;
        Ok(match turn.log.last() {
            _ if ended.is_err() => StopOutcome::Stopping,
            // Only a turn stopped by its user ends with `abort`; another end means it finished first.
            Some(UiChunk::Abort { .. }) => StopOutcome::Stopped,
            _ => StopOutcome::NotRunning,
        })
    }

    /// True while a live turn runs in the chat, here or on another instance. A turn whose
    /// instance died is interrupted on the way (its answer marked incomplete).
    pub async fn turn_running(&self, chat_id: &str) -> Result<bool, BackendError> {
        Ok(self.running_log(chat_id).is_some() || self.store.running_turn(chat_id).await?.is_some())
    }

    /// Re-attaches to the chat's running turn, from its first part: from this instance's log, or
    /// from the store when it runs on another instance. `None` when none runs.
    pub async fn resume(&self, chat_id: &str) -> Result<Option<Box<dyn PartStream>>, BackendError> {
        if let Some(log) = self.running_log(chat_id) {
            return Ok(Some(Box::new(log.resume_reader())));
        }
        if !self.store.is_shared() {
            return Ok(None);
        }
        let Some(turn) = self.store.running_turn(chat_id).await? else { return Ok(None) };
        let follower = StoreFollower::new(Arc::clone(&self.store), turn.id).await?;
        Ok(Some(Box::new(follower)))
    }

    /// Starts a turn and returns its log; see [`ChatBackend::submit`].
    pub async fn start_turn(&self, request: TurnRequest) -> Result<Arc<TurnLog>, BackendError> {
        if self.is_draining() {
            return Err(BackendError::ShuttingDown);
        }
        let app = self.apps.get(&request.app).ok_or_else(|| BackendError::UnknownApp {
            name: request.app.clone(),
            known: self.apps.names().join(", "),
        })?;
        // Checked before anything is stored: an unknown model leaves no chat behind.
        if let Some(model) = &request.model
            && self.models.get(model).is_none()
        {
            let known: Vec<&str> = self.models.routes().iter().map(|route| route.id.as_str()).collect();
            return Err(BackendError::UnknownModel {
                name: model.clone(),
                known: if known.is_empty() { "none".to_owned() } else { known.join(", ") },
            });
        }
        let log = TurnLog::new();
        let cancel = self.stopping.child_token();
        {
            let mut running = self.running();
            if running.contains_key(&request.chat_id) {
                return Err(BackendError::TurnRunning(request.chat_id));
            }
            running.insert(request.chat_id.clone(), RunningTurn { log: Arc::clone(&log), cancel: cancel.clone() });
        }
        let guard = RunningGuard {
            running: Arc::clone(&self.running),
            chat_id: request.chat_id.clone(),
            log: Arc::clone(&log),
        };
        let prepared = self.prepare(&request).await?;
        // A continued message's earlier parts, for clients that re-attach to this turn.
        log.set_prior(aomi_core::replay::message_chunks(&prepared.assistant.parts));
        let input = TurnInput {
            chat_id: request.chat_id.clone(),
            history: prepared.history,
            wallet: request.wallet,
            model: prepared.model,
            compaction: prepared.compaction,
        };
        let span = tracing::info_span!("turn", chat_id = %request.chat_id, app = %request.app);
        let turn = Turn {
            store: Arc::clone(&self.store),
            app,
            input,
            assistant: prepared.assistant,
            turn_id: prepared.turn_id,
            log: Arc::clone(&log),
            stopping: self.stopping.clone(),
            cancel,
            title: prepared.title_from.map(|first| (self.titler.clone(), first)),
            watch: self.metrics.turn(),
            tasks: self.tasks.clone(),
            settle: self.unit_settle,
        };
        self.tasks.spawn(runner::run(turn, guard).instrument(span));
        Ok(log)
    }

    /// Checks the request against the chat, claims the chat in the store, stores the new message
    /// and returns what the turn needs.
    async fn prepare(&self, request: &TurnRequest) -> Result<Prepared, BackendError> {
        if request.message.role == Role::System {
            return Err(BackendError::BadRequest("a client cannot send a system message".into()));
        }
        if request.replaces.is_some() && request.message.role != Role::User {
            return Err(BackendError::BadRequest("only a user message can replace another".into()));
        }
        let chat_id = request.chat_id.as_str();
        let started = std::time::Instant::now();
        let mut phases = [0u128; 3];
        let mut mark = |phase: usize| phases[phase] = started.elapsed().as_micros();
        // A user's message is checked against the chat's owner by `start_turn`, in its transaction.
        if request.message.role == Role::Assistant {
            let chat = self.store.chat(chat_id).await?.ok_or_else(|| not_in_chat(&request.message.id))?;
            authorize(chat.owner, request.owner)?;
        }
        let new_chat = NewChat {
            id: chat_id.to_owned(),
            owner: request.owner,
            app: request.app.clone(),
            chain_id: request.wallet.as_ref().map(|w| w.chain_id),
            model: request.model.clone(),
        };
        let message_id = match request.message.role {
            Role::Assistant => request.message.id.clone(),
            _ => new_message_id(),
        };
        let turn_id = format!("turn_{}", uuid::Uuid::new_v4().simple());
        // The claim comes before reading the history: a turn that ended on another instance
        // committed its last step before it ended.
        let turn = NewTurn { id: turn_id.clone(), chat_id: chat_id.to_owned(), message_id: message_id.clone() };
        mark(0);
        let (chat, history, compaction) = match request.message.role {
            // The chat, the claim and the user's message in one commit, before the model is
            // called (a duplicate message id writes nothing), and the history read with them.
            Role::User | Role::System => {
                let start = TurnStart {
                    chat: new_chat,
                    turn,
                    message: Some(request.message.clone()),
                    replaces: request.replaces.clone(),
                    max_messages: request.max_messages.map(|max| u64::try_from(max).unwrap_or(u64::MAX)),
                };
                let started = self.store.start_turn(&start).await?;
                // An unreadable state is left to the compactor, which says so and starts afresh.
                let compaction = match started.compaction {
                    Some(record) => crate::compaction::state_of(record).ok(),
                    None => Some(CompactionState::default()),
                };
                (started.chat, Some(started.history), compaction)
            }
            Role::Assistant => {
                let chat = self.store.ensure_chat(new_chat).await?;
                self.store.begin_turn(&turn).await?;
                (chat, None, None)
            }
        };
        let claim = Claim { store: Arc::clone(&self.store), tasks: self.tasks.clone(), turn_id: Some(turn_id) };
        let mut history = match history {
            Some(history) => history,
            None => self.store.messages(chat_id).await?,
        };
        mark(1);
        let assistant = match request.message.role {
            // (A system message was refused above.)
            Role::User | Role::System => {
                // A tool call left open (a wallet request never answered) is closed as not sent.
                // Its transaction, if it was one, is recorded as never sent.
                for message in history.iter_mut().filter(|m| m.role == Role::Assistant) {
                    if let Some(closed) = close_open_calls(message) {
                        self.store.put_message(chat_id, message).await?;
                        crate::transactions::record_outcomes(self.store.as_ref(), chat_id, message, &closed).await;
                    }
                }
                ChatMessage::assistant(message_id)
            }
            Role::Assistant => {
                let position = history
                    .iter()
                    .rposition(|m| m.id == request.message.id && m.role == Role::Assistant)
                    .ok_or_else(|| not_in_chat(&request.message.id))?;
                let stored = &mut history[position];
                if apply_client_outputs(stored, &request.message)? == 0 {
                    return Err(BackendError::BadRequest("the message answers no open tool call of this chat".into()));
                }
                self.store.put_message(chat_id, stored).await?;
                crate::transactions::record_outcomes(self.store.as_ref(), chat_id, stored, &request.message).await;
                history.truncate(position + 1);
                history.pop().unwrap_or_else(|| ChatMessage::assistant(new_message_id()))
            }
        };
        mark(2);
        tracing::debug!(
            chat_us = phases[0],
            start_us = phases[1] - phases[0],
            rest_us = phases[2] - phases[1],
            "turn prepared"
        );
        let title_from = chat.title.is_none().then(|| history.iter().find(|m| m.role == Role::User).cloned()).flatten();
        Ok(Prepared { title_from, history, assistant, turn_id: claim.keep(), model: chat.model, compaction })
    }
}

/// What a turn needs once its request is accepted.
struct Prepared {
    history: Vec<ChatMessage>,
    assistant: ChatMessage,
    turn_id: String,
    /// The chat's first user message, when the chat has no title yet.
    title_from: Option<ChatMessage>,
    /// The chat's stored model (`None`: the default).
    model: Option<String>,
    /// The chat's compaction state, when read with the start (see [`TurnInput::compaction`]).
    compaction: Option<CompactionState>,
}

/// Refuses a request about a chat owned by another wallet (or sent without a wallet).
pub(crate) fn authorize(
    owner: Option<aomi_core::Address>,
    requester: Option<aomi_core::Address>,
) -> Result<(), BackendError> {
    match owner {
        Some(owner) if requester != Some(owner) => Err(BackendError::Forbidden),
        _ => Ok(()),
    }
}

fn not_in_chat(message_id: &str) -> BackendError {
    BackendError::BadRequest(format!(
        "assistant message {message_id} is not in this chat; only a client tool's output can be sent back"
    ))
}

/// Closes tool calls still waiting for input or for the client. Returns the closed calls, if any.
fn close_open_calls(message: &mut ChatMessage) -> Option<ChatMessage> {
    let mut closed = ChatMessage::assistant(message.id.clone());
    for part in &mut message.parts {
        if let MessagePart::Tool(tool) = part
            && matches!(tool.state, ToolState::InputStreaming | ToolState::InputAvailable)
        {
            tool.state = ToolState::OutputError;
            tool.error_text = Some(NOT_SENT.into());
            closed.parts.push(part.clone());
        }
    }
    (!closed.parts.is_empty()).then_some(closed)
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
    fn apps(&self) -> Vec<AppSummary> {
        self.apps
            .apps()
            .map(|app| AppSummary { name: app.name().to_owned(), description: app.description().to_owned() })
            .collect()
    }

    fn models(&self) -> Vec<ModelSummary> {
        self.models
            .routes()
            .iter()
            .enumerate()
            .map(|(index, route)| ModelSummary {
                id: route.id.clone(),
                label: route.label.clone(),
                default: index == 0,
            })
            .collect()
    }

    fn submit(&self, request: TurnRequest) -> BoxFuture<'_, Result<StartedTurn, BackendError>> {
        Box::pin(async move {
            let log = self.start_turn(request).await?;
            let parts = Box::new(log.reader(0));
            Ok(StartedTurn { parts, ended: Box::pin(async move { log.closed().await }) })
        })
    }

    fn resume<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<Box<dyn PartStream>>, BackendError>> {
        Box::pin(Backend::resume(self, chat_id))
    }

    fn stop<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<StopOutcome, BackendError>> {
        Box::pin(self.stop_turn(chat_id))
    }

    fn turn_running<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(Backend::turn_running(self, chat_id))
    }

    fn chat<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<ChatSummary>, BackendError>> {
        Box::pin(async move { Ok(self.store.chat(chat_id).await?.map(summary)) })
    }

    fn messages<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatMessage>, BackendError>> {
        Box::pin(async move { Ok(self.store.messages(chat_id).await?) })
    }

    fn forks<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<ChatFork>, BackendError>> {
        Box::pin(async move {
            let forks = self.store.forks(chat_id).await?;
            Ok(forks
                .into_iter()
                .map(|fork| ChatFork { message_id: fork.message_id, alternatives: fork.alternatives })
                .collect())
        })
    }

    fn switch_branch<'a>(&'a self, chat_id: &'a str, branch_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            // The store refuses too (a turn on another instance); this answers without a write.
            if Backend::turn_running(self, chat_id).await? {
                return Err(BackendError::TurnRunning(chat_id.to_owned()));
            }
            Ok(self.store.switch_branch(chat_id, branch_id).await?)
        })
    }

    fn list_chats(&self, query: ChatListQuery) -> BoxFuture<'_, Result<ChatListPage, BackendError>> {
        Box::pin(async move {
            let after = query.cursor.as_deref().map(str::parse::<ChatCursor>).transpose()?;
            let query = ChatQuery { owner: query.owner, archived: query.archived, limit: query.limit, after };
            let page = self.store.list_chats(&query).await?;
            Ok(ChatListPage {
                chats: page.chats.into_iter().map(summary).collect(),
                next_cursor: page.next.map(|cursor| cursor.to_string()),
            })
        })
    }

    fn update_chat<'a>(
        &'a self,
        chat_id: &'a str,
        change: ChatChange,
    ) -> BoxFuture<'a, Result<ChatSummary, BackendError>> {
        Box::pin(async move {
            if let Some(title) = &change.title {
                self.store.rename_chat(chat_id, title).await?;
            }
            if let Some(archived) = change.archived {
                self.store.set_archived(chat_id, archived).await?;
            }
            let chat = self.store.chat(chat_id).await?;
            chat.map(summary).ok_or_else(|| BackendError::ChatNotFound(chat_id.to_owned()))
        })
    }

    fn delete_chat<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            if Backend::turn_running(self, chat_id).await? {
                return Err(BackendError::TurnRunning(chat_id.to_owned()));
            }
            Ok(self.store.delete_chat(chat_id).await?)
        })
    }

    fn search(&self, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchMatch>, BackendError>> {
        Box::pin(async move {
            let query = SearchQuery { owner: request.owner, text: request.text, limit: request.limit };
            Ok(self.store.search(&query).await?.into_iter().map(search_match).collect())
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            if self.is_draining() {
                return Err(BackendError::ShuttingDown);
            }
            Ok(self.store.ping().await?)
        })
    }
}

/// A stored chat as the backend answers it.
fn summary(chat: ChatRecord) -> ChatSummary {
    ChatSummary {
        id: chat.id,
        owner: chat.owner,
        app: chat.app,
        title: chat.title,
        chain_id: chat.chain_id,
        created_at: chat.created_at.into(),
        updated_at: chat.updated_at.into(),
        archived: chat.archived,
        running: chat.running,
        model: chat.model,
    }
}

/// A stored search hit as the backend answers it.
fn search_match(hit: SearchHit) -> SearchMatch {
    SearchMatch {
        chat_id: hit.chat_id,
        chat_title: hit.chat_title,
        archived: hit.archived,
        message_id: hit.message_id,
        role: hit.role,
        snippet: hit.snippet,
        created_at: hit.created_at.into(),
    }
}
