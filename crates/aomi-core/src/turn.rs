//! What one chat turn asks for.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::message::{ChatMessage, Role};

/// The wallet's state when the turn was sent: the network it is on and, if connected, its address.
///
/// Every turn carries it, so switching network in the wallet takes effect on the very next turn
/// without any shared state on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WalletContext {
    /// The connected address, if any: checked when read (a wrong EIP-55 checksum is refused),
    /// written in its canonical lower-case form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The chain id the wallet is on.
    pub chain_id: u64,
}

/// One turn: a new message in a chat, for an app, in a wallet context.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRequest {
    /// The chat; an id the server has not seen starts a new chat.
    pub chat_id: String,
    /// The new message: a user message, or an assistant message carrying a client tool's output.
    pub message: ChatMessage,
    /// The app that answers (`default` unless named).
    pub app: String,
    /// The wallet's state now.
    pub wallet: Option<WalletContext>,
    /// The wallet the turn speaks for: its sign-in session's or, where sign-in is optional, the
    /// one it names. It owns a chat the turn starts; `None` starts an anonymous chat.
    pub owner: Option<Address>,
    /// The user message of the chat that `message` replaces: an edit, or the same words asked
    /// again for another answer. The chat's line from that message on is kept as a branch.
    pub replaces: Option<String>,
    /// The model a new chat runs on: the id of one of the backend's allowed models
    /// ([`ChatBackend::models`](crate::ChatBackend::models)); `None` for the default. An unknown id
    /// is refused; an existing chat keeps the model it was created with.
    pub model: Option<String>,
    /// The most messages the chat may hold when this one arrives: a chat that holds as many
    /// refuses it ([`BackendError::ChatFull`](crate::BackendError::ChatFull)), checked in the
    /// commit that would store it. `None`: no limit.
    pub max_messages: Option<usize>,
}

/// What started a turn. Only the server knows it, and a tool reads it from its
/// [`ToolContext`](crate::ToolContext): it is how a tool tells the user's own word (a new message)
/// from the model's, whose arguments can say anything (text in a token name or a search result
/// can steer them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TurnOrigin {
    /// The user sent a message: this one, by its id.
    UserMessage {
        /// The message's id.
        id: String,
    },
    /// No user message: a client tool's answer (the wallet's) continues the turn, or nobody said.
    #[default]
    Continuation,
}

impl TurnOrigin {
    /// What started a turn whose history ends with `last` (the turn's new message).
    pub fn of(last: Option<&ChatMessage>) -> Self {
        match last {
            Some(message) if message.role == Role::User => TurnOrigin::UserMessage { id: message.id.clone() },
            _ => TurnOrigin::Continuation,
        }
    }

    /// The id of the user message that started the turn, if a user message did.
    pub fn user_message(&self) -> Option<&str> {
        match self {
            TurnOrigin::UserMessage { id } => Some(id),
            TurnOrigin::Continuation => None,
        }
    }
}

/// The app a request names when it names none.
pub const DEFAULT_APP: &str = "default";
