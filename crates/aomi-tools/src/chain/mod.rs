//! The native chain tools: reads through the chat's own provider, and the wallet request.
//!
//! Every tool reads the chat's network (its [`SwitchableProvider`](aomi_chain::SwitchableProvider),
//! switched by the turn's wallet chain id), unless its `network` argument names another network for
//! that call only. Arguments are checked before any request; every failure is a [`ToolError`] whose
//! text says what was wrong, for the model to explain.

mod account;
mod call;
mod contract;
mod decoded;
mod ens;
mod network;
mod prepare;
mod signing;
mod simulate;
mod tx;
mod wallet;

use std::sync::Arc;

use aomi_chain::alloy::primitives::{Address, B256};
use aomi_chain::{ChainError, ChainSessions, Connection};
use aomi_core::{AddressError, ToolContext, ToolError};

pub use account::{
    AccountArgs, AccountInfo, Balance, BlockArgs, BlockInfo, GasPrice, GetAccountInfo, GetBalance, GetBlock,
    GetGasPrice, GetTokenBalance, NetworkOnly, TokenBalance, TokenBalanceArgs,
};
pub use call::{CallArgs, CallViewFunction, EncodeArgs, EncodeFunctionCall, EncodedCall, ViewCall, ViewResult};
pub use contract::{ContractAbiPart, ContractArgs, ContractSummary, GetContract};
pub use decoded::{AbiParam, DecodedCall};
pub use ens::{AddressArgs, EnsRecord, LookupAddress, NameArgs, ResolveEns};
pub use network::{
    NetworkChoice, NetworkEntry, NetworkListing, NetworkPart, NetworkSwitched, SwitchArgs, SwitchNetwork,
};
pub use prepare::{PreparedTransaction, Simulate, SimulateArgs};
pub use signing::{RequestSignature, SIGNATURE_TOOL, SignMethod, SignatureArgs, SignatureRequest, SignatureToolName};
pub use simulate::{
    HeldTransaction, OVERRIDE_ARGUMENT, RequestedTransaction, SimulateBeforeSend, SimulationPart, TransactionRecorder,
};
pub use tx::{
    DecodedEvent, GetReceipt, GetTransaction, HashArgs, ReceiptInfo, ReceiptLog, ReceiptStatus, TransactionInfo,
};
pub use wallet::{BuiltRequest, SendArgs, SendTransactionToWallet, TransactionRequest, WALLET_TOOL, WalletToolName};

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
        .with(RequestSignature::new(s()))
        .with_hook(sessions)
}

/// [`chain_tools`] with `get_contract` answering from `db`.
pub fn contract_tools(sessions: Arc<ChainSessions>, db: Arc<aomi_chain::ContractDb>) -> ToolRegistry {
    chain_tools(Arc::clone(&sessions)).with(GetContract::new(sessions, db))
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

/// Parses an address (see [`aomi_core::Address`]): mixed case must carry a valid EIP-55 checksum,
/// so a mistyped address is caught instead of used.
pub(crate) fn parse_address(input: &str) -> Result<Address, ChainError> {
    aomi_core::Address::parse(input).map(Address::from).map_err(|error| match error {
        AddressError::Malformed(_) => ChainError::InvalidAddress(input.to_owned()),
        AddressError::BadChecksum(_) => ChainError::InvalidInput(error.to_string()),
    })
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
pub(crate) use aomi_chain::short_address as short;

/// What the model reads about the `network` argument every read tool takes.
pub(crate) const NETWORK_ARGUMENT: &str = "Network name (ethereum, base, devnet, …) or chain id, for this call only; default: the chat's network (the wallet's).";

#[cfg(test)]
mod tests {
    use aomi_chain::NetworkRegistry;
    use serde_json::json;

    use super::*;

    #[test]
    fn read_tool_schemas_take_a_network_and_nothing_unknown() {
        let sessions = Arc::new(ChainSessions::new(NetworkRegistry::builtin(), "devnet").unwrap());
        let specs = chain_tools(sessions).specs();
        for spec in &specs {
            let schema = &spec.parameters;
            assert_eq!(schema["type"], "object", "{}", spec.name);
            assert_eq!(schema["additionalProperties"], false, "{}", spec.name);
            // No empty `required` list (some providers refuse one), no `$ref` to resolve.
            assert_ne!(schema.get("required"), Some(&json!([])), "{}", spec.name);
            assert!(!schema.to_string().contains("$ref") && schema.get("$schema").is_none(), "{}", spec.name);
            if ![WALLET_TOOL, SIGNATURE_TOOL, "switch_network"].contains(&spec.name.as_str()) {
                assert_eq!(schema["properties"]["network"]["description"], NETWORK_ARGUMENT, "{}", spec.name);
                assert_eq!(schema["properties"]["network"]["type"], "string", "{}", spec.name);
            }
        }
        let balance = specs.iter().find(|s| s.name == "get_balance").unwrap();
        assert_eq!(balance.parameters["required"], json!(["address"]));
        let properties = balance.parameters["properties"].as_object().unwrap();
        assert_eq!(properties.keys().collect::<Vec<_>>(), ["address", "network"]);
        // Nothing required: no `required` list at all.
        let gas = specs.iter().find(|s| s.name == "get_gas_price").unwrap();
        assert!(gas.parameters.get("required").is_none());
    }
}
