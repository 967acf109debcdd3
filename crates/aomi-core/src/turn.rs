//! What one chat turn asks for.

use serde::{Deserialize, Serialize};

use crate::message::ChatMessage;

/// The wallet's state when the turn was sent: the network it is on and, if connected, its address.
///
/// Every turn carries it, so switching network in the wallet takes effect on the very next turn
/// without any shared state on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletContext {
    /// The connected address (`0x…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
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
    /// The wallet the turn speaks for (lower case): its sign-in session's or, where sign-in is
    /// optional, the one it names. It owns a chat the turn starts; `None` starts an anonymous chat.
    pub owner: Option<String>,
}

/// The app a request names when it names none.
pub const DEFAULT_APP: &str = "default";
