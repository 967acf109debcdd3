//! The `AomiApp` trait: the agent logic behind a chat.

use std::sync::Arc;

use crate::BoxFuture;
use crate::compaction::CompactionState;
use crate::message::ChatMessage;
use crate::stream::{FinishReason, UiChunk};
use crate::turn::{TurnOrigin, WalletContext};

/// Receives the parts a turn produces, in order, as they happen.
pub trait TurnSink: Send + Sync {
    /// Emits one part. Returns false when nobody listens any more and the turn may stop early.
    fn emit(&self, chunk: UiChunk) -> bool;
}

/// Everything an app needs to run one turn.
#[derive(Debug, Clone)]
pub struct TurnInput {
    /// The chat.
    pub chat_id: String,
    /// The history, oldest first, ending with the new message (a user message, or an assistant
    /// message whose client-side tool call now has its output).
    pub history: Vec<ChatMessage>,
    /// The wallet's state for this turn.
    pub wallet: Option<WalletContext>,
    /// The id of the model the chat runs on (one of the backend's allowed models); `None` for the
    /// default model. The app answers on that model's route.
    pub model: Option<String>,
    /// The chat's compaction state, when the backend read it with the turn's start (the default
    /// state for a chat without one). `None`: not read; a compactor loads it itself.
    pub compaction: Option<CompactionState>,
}

impl TurnInput {
    /// What started the turn: the user's new message, or a client tool's answer.
    pub fn origin(&self) -> TurnOrigin {
        TurnOrigin::of(self.history.last())
    }
}

/// Why an app could not run a turn. Anything that happens *during* a turn is reported as parts
/// (an `error` part for a failed model call), not as this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The app is not set up to answer (no model configured); the text says how to fix it.
    #[error("{0}")]
    NotConfigured(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

/// Something that must see every turn's context before anything of the turn runs: the chain
/// sessions switch the chat's network to the wallet's chain here. The backend runs an app's hooks
/// (see [`AomiApp::turn_hooks`]) at the start of each of its turns, so no app has to.
pub trait TurnHook: Send + Sync {
    /// Called once at the start of every turn, before the model, a tool or a direct command runs.
    fn begin_turn(&self, chat_id: &str, wallet: Option<&WalletContext>);
}

/// Agent logic: a preamble, a tool set and a loop. One app object serves every chat concurrently.
pub trait AomiApp: Send + Sync {
    /// The app's name, as requests name it.
    fn name(&self) -> &str;

    /// A sentence on what the app does.
    fn description(&self) -> &str;

    /// The names of the tools the app may call (metrics count calls of other names apart, since a
    /// model can invent names). None by default.
    fn tool_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// The hooks of the app's tools (a tool registry's, see `aomi_tools::ToolRegistry::hooks`).
    /// The backend runs them at the start of every turn of this app, before [`AomiApp::run_turn`].
    /// No default: an app that uses the chain tools and left this out would answer on the
    /// previous turn's network, so every app says what it runs (an empty list if nothing).
    fn turn_hooks(&self) -> Vec<Arc<dyn TurnHook>>;

    /// Runs one turn, emitting its parts to `sink`: `start-step`, text, tool calls and results,
    /// `finish-step`, … The caller emits `start` and then `finish` with the returned reason.
    fn run_turn<'a>(
        &'a self,
        input: TurnInput,
        sink: &'a dyn TurnSink,
    ) -> BoxFuture<'a, Result<FinishReason, AppError>>;
}
