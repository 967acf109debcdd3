//! The native chain tools: reads through the chat's own provider, and the wallet request.
//!
//! Every tool reads the chat's network (its [`SwitchableProvider`](aomi_chain::SwitchableProvider),
//! switched by the turn's wallet chain id), unless its `network` argument names another network for
//! that call only. Arguments are checked before any request; every failure is a [`ToolError`] whose
//! text says what was wrong, for the model to explain.

mod account;
mod call;
mod contract;
mod ens;
mod network;
mod simulate;
mod tx;
mod wallet;

use std::sync::Arc;

use aomi_chain::alloy::primitives::{Address, B256};
use aomi_chain::{ChainError, ChainSessions, Connection};
use aomi_core::{ToolContext, ToolError};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use account::{GetAccountInfo, GetBalance, GetBlock, GetGasPrice, GetTokenBalance};
pub use call::{CallViewFunction, EncodeFunctionCall};
pub use contract::GetContract;
pub use ens::{LookupAddress, ResolveEns};
pub use network::SwitchNetwork;
pub use simulate::{HeldTransaction, OVERRIDE_ARGUMENT, RequestedTransaction, SimulateBeforeSend, TransactionRecorder};
pub use tx::{GetReceipt, GetTransaction};
pub use wallet::SendTransactionToWallet;

use crate::registry::ToolRegistry;

/// Every chain tool over `sessions`, with the hook that switches each chat to its wallet's chain at
/// the start of a turn. `get_contract` needs the contract database: add
/// [`GetContract`] where there is one ([`contract_tools`]).
pub fn chain_tools(sessions: Arc<ChainSessions>) -> ToolRegistry {
    let s = || Arc::clone(&sessions);
    ToolRegistry::new()
        .with(GetBalance(s()))
        .with(GetTokenBalance(s()))
        .with(CallViewFunction(s()))
        .with(EncodeFunctionCall(s()))
        .with(GetTransaction(s()))
        .with(GetReceipt(s()))
        .with(GetBlock(s()))
        .with(GetGasPrice(s()))
        .with(GetAccountInfo(s()))
        .with(ResolveEns(s()))
        .with(LookupAddress(s()))
        .with(SwitchNetwork(s()))
        .with(SimulateBeforeSend::new(s()))
        .with_hook(sessions)
}

/// [`chain_tools`] with `get_contract` answering from `db`.
pub fn contract_tools(sessions: Arc<ChainSessions>, db: Arc<aomi_chain::ContractDb>) -> ToolRegistry {
    chain_tools(Arc::clone(&sessions)).with(GetContract::new(sessions, db))
}

/// Parses a tool's arguments into its argument struct; `null` counts as `{}`.
pub(crate) fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, ToolError> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// A chain error as the tool error the model sees.
pub(crate) fn failed(error: ChainError) -> ToolError {
    match error {
        ChainError::InvalidAddress(_) | ChainError::InvalidInput(_) | ChainError::Abi(_) | ChainError::Units(_) => {
            ToolError::InvalidArguments(error.to_string())
        }
        other => ToolError::Failed(other.to_string()),
    }
}

/// The connection a call uses: its `network` argument, or the chat's network.
pub(crate) fn connection(
    sessions: &ChainSessions,
    ctx: &ToolContext,
    network: Option<&str>,
) -> Result<Arc<Connection>, ToolError> {
    sessions.connection(&ctx.chat_id, network).map_err(failed)
}

/// Parses an address. Mixed case must carry a valid EIP-55 checksum, so a mistyped address is
/// caught instead of used.
pub(crate) fn parse_address(input: &str) -> Result<Address, ChainError> {
    let text = input.trim();
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    let Some(hex) = hex.filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return Err(ChainError::InvalidAddress(input.to_owned()));
    };
    let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        return Address::parse_checksummed(text, None).map_err(|_| {
            ChainError::InvalidInput(format!(
                "\"{input}\" has a wrong EIP-55 checksum: a character's case is off, so the address may be mistyped"
            ))
        });
    }
    text.parse::<Address>().map_err(|_| ChainError::InvalidAddress(input.to_owned()))
}

/// Parses a 32-byte hash (a transaction or block hash).
pub(crate) fn parse_hash(input: &str, what: &str) -> Result<B256, ChainError> {
    let text = input.trim();
    let ok = text.len() == 66 && text.starts_with("0x") && text[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(ChainError::InvalidInput(format!(
            "\"{input}\" is not a {what} hash (0x followed by 64 hex digits)"
        )));
    }
    text.parse::<B256>().map_err(|_| ChainError::InvalidInput(format!("\"{input}\" is not a {what} hash")))
}

/// An address, or an ENS name resolved on the connection's network.
pub(crate) async fn resolve_address(connection: &Connection, input: &str) -> Result<Address, ChainError> {
    if input.trim().contains('.') && !input.trim().starts_with("0x") {
        return ens::resolve_name(connection, input.trim()).await;
    }
    parse_address(input)
}

/// A short form of an address for summaries: `0x1234…abcd`.
pub(crate) fn short(address: &Address) -> String {
    let text = address.to_checksum(None);
    format!("{}…{}", &text[..6], &text[text.len() - 4..])
}

/// The JSON schema of a read tool's arguments: `properties` (a JSON object), the optional `network`
/// argument every read tool takes, and nothing else.
pub(crate) fn with_network(properties: Value, required: &[&str]) -> Value {
    let mut properties = match properties {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    properties.insert(
        "network".into(),
        json!({
            "type": "string",
            "description": "Network name (ethereum, base, devnet, …) or chain id, for this call only; default: the chat's network (the wallet's)."
        }),
    );
    let mut schema = json!({ "type": "object", "properties": properties, "additionalProperties": false });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_tool_schemas_take_a_network_and_nothing_unknown() {
        let schema = with_network(json!({ "address": { "type": "string" } }), &["address"]);
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["address"]));
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.keys().collect::<Vec<_>>(), ["address", "network"]);
        // Nothing required: no empty `required` list (some providers refuse one).
        assert!(with_network(json!({}), &[]).get("required").is_none());
    }
}
