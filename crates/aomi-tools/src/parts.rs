//! The `data-*` parts the scheduler streams around a tool call (the tools' own parts live beside
//! them: `data-network`, `data-simulation`, `data-contract`).

use aomi_core::{DataPart, UiChunk};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::chain::TransactionRequest;

/// `data-tool-progress`: a running call's progress; transient (shown live, never stored).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolProgressPart {
    /// The call.
    pub tool_call_id: String,
    /// What it is doing ("simulating the transaction").
    pub message: String,
}

impl DataPart for ToolProgressPart {
    const NAME: &'static str = "tool-progress";
}

/// `data-wallet-request` (id: the call's id): what the server built for a client-side call; the
/// call stays open until the client answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletRequestPart {
    /// The call.
    pub tool_call_id: String,
    /// The tool called.
    pub tool_name: String,
    /// What the client runs: for the wallet tool, a [`TransactionRequest`].
    #[schema(value_type = TransactionRequest)]
    pub request: Value,
    /// The request in a sentence.
    pub summary: String,
}

impl DataPart for WalletRequestPart {
    const NAME: &'static str = "wallet-request";
}

/// `part` as a stream chunk with `id`; a `transient` part reaches the client and is not stored.
pub(crate) fn chunk<P: DataPart>(part: &P, id: Option<String>, transient: bool) -> UiChunk {
    UiChunk::Data {
        name: P::NAME.to_owned(),
        id,
        data: serde_json::to_value(part).unwrap_or(Value::Null),
        transient: transient.then_some(true),
    }
}
