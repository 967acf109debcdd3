//! The `Tool` trait: what the model can call.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BoxFuture;
use crate::turn::{TurnOrigin, WalletContext};

/// A tool as the model sees it: name, description and a JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The tool's name (`[a-zA-Z0-9_-]`, as the providers require).
    pub name: String,
    /// What it does and when to use it.
    pub description: String,
    /// JSON schema of its arguments (an object schema).
    pub parameters: Value,
}

/// What a tool returns: structured data for the UI and a short summary. A typed tool returns its
/// own output type as `data`; the registry sees it as JSON (the default `Value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput<T = Value> {
    /// Structured result; the front end formats it per tool.
    pub data: T,
    /// A one-line human summary.
    pub summary: String,
}

impl<T> ToolOutput<T> {
    /// An output with data and a summary.
    pub fn new(data: T, summary: impl Into<String>) -> Self {
        ToolOutput { data, summary: summary.into() }
    }
}

/// Why a tool call failed. The text is shown to the user and given to the model, so it must say
/// what was wrong in plain words and contain no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The arguments are not what the tool takes.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed.
    #[error("{0}")]
    Failed(String),
    /// The tool did not finish in time.
    #[error("timed out after {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The tool panicked (a bug); the turn goes on.
    #[error("the tool crashed: {0}")]
    Crashed(String),
    /// No tool of that name exists.
    #[error("unknown tool \"{0}\"")]
    Unknown(String),
}

/// Reports progress of a running tool call to the stream.
pub type ProgressFn = Arc<dyn Fn(String) + Send + Sync>;

/// Sends a `data-<name>` part to the stream (name, payload).
pub type DataFn = Arc<dyn Fn(String, Value) + Send + Sync>;

/// The payload of a `data-*` part a tool streams; its name on the wire belongs to its type, so
/// the page and the server agree on both.
pub trait DataPart: Serialize {
    /// The part's name: it streams as `data-<NAME>`.
    const NAME: &'static str;
}

/// What a tool call knows of its turn.
#[derive(Clone)]
pub struct ToolContext {
    /// The chat the call belongs to.
    pub chat_id: String,
    /// The id of this tool call.
    pub tool_call_id: String,
    /// The wallet's state for this turn.
    pub wallet: Option<WalletContext>,
    /// What started the turn ([`TurnOrigin::Continuation`] unless the caller says).
    pub origin: TurnOrigin,
    progress: Option<ProgressFn>,
    data: Option<DataFn>,
}

impl ToolContext {
    /// A context; `progress` receives the tool's progress messages.
    pub fn new(
        chat_id: impl Into<String>,
        tool_call_id: impl Into<String>,
        wallet: Option<WalletContext>,
        progress: Option<ProgressFn>,
    ) -> Self {
        ToolContext {
            chat_id: chat_id.into(),
            tool_call_id: tool_call_id.into(),
            wallet,
            origin: TurnOrigin::default(),
            progress,
            data: None,
        }
    }

    /// The same context in a turn started by `origin`.
    pub fn with_origin(mut self, origin: TurnOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// The same context with a sink for the tool's `data-*` parts.
    pub fn with_data(mut self, data: DataFn) -> Self {
        self.data = Some(data);
        self
    }

    /// Streams a `data-<name>` part that the front end acts on (for example `data-network`, asking
    /// it to switch the wallet's network). Kept in the message.
    pub fn emit_data(&self, name: impl Into<String>, data: Value) {
        if let Some(sink) = &self.data {
            sink(name.into(), data);
        }
    }

    /// Streams a typed `data-*` part: [`DataPart::NAME`] names it.
    pub fn emit<P: DataPart>(&self, part: &P) {
        // A derived `Serialize` of string-keyed fields cannot fail; a part that could not be
        // written is left out rather than sent broken.
        if let Ok(data) = serde_json::to_value(part) {
            self.emit_data(P::NAME, data);
        }
    }

    /// Reports progress ("fetching block 5 of 10"); shown live, not stored.
    pub fn progress(&self, message: impl Into<String>) {
        if let Some(progress) = &self.progress {
            progress(message.into());
        }
    }
}

impl fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolContext")
            .field("chat_id", &self.chat_id)
            .field("tool_call_id", &self.tool_call_id)
            .field("wallet", &self.wallet)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A tool the model can call.
pub trait Tool: Send + Sync {
    /// The tool's name, description and argument schema.
    fn spec(&self) -> ToolSpec;

    /// How long one call may take; `None` takes the scheduler's default.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// True for a tool that the client runs (a wallet action): the server streams the call and the
    /// turn waits for the client to send the outcome. For such a tool, [`Tool::call`] runs on the
    /// server first to validate the arguments and prepare what the client runs (a transaction
    /// request); its output is streamed for the client and the call stays open. An error there
    /// closes the call as a normal tool error.
    fn runs_on_client(&self) -> bool {
        false
    }

    /// Runs the tool. Arguments come from the model: validate them.
    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}
