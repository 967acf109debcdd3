//! `get_transaction` and `get_receipt`, with calldata and logs decoded when aomi knows the ABI.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::decode_event_args;
use aomi_chain::alloy::consensus::Transaction as _;
use aomi_chain::alloy::dyn_abi::JsonAbiExt;
use aomi_chain::alloy::network::TransactionResponse as _;
use aomi_chain::alloy::primitives::{Address, B256, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::Log;
use aomi_chain::units::format_units;
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::account::rpc;
use super::decoded::DecodedCall;
use super::{NETWORK_ARGUMENT, connection, failed, parse_hash, short};

/// The arguments of `get_transaction` and `get_receipt`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashArgs {
    /// the transaction hash, 0x followed by 64 hex digits
    pub hash: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_transaction`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInfo {
    /// Its hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// The network read.
    pub network: String,
    /// The sender.
    #[schema(value_type = String)]
    pub from: Address,
    /// The recipient; none for a contract creation.
    #[schema(value_type = Option<String>, required = true)]
    pub to: Option<Address>,
    /// Native coin sent, in wei, decimal.
    pub value_wei: String,
    /// Native coin sent, in the coin's unit.
    pub value: String,
    /// The sender's nonce.
    pub nonce: u64,
    /// Its gas limit, decimal.
    pub gas_limit: String,
    /// The chain id it was signed for (none for legacy transactions without one).
    #[schema(required = true)]
    pub chain_id: Option<u64>,
    /// Its calldata, `0x` hex.
    pub input: String,
    /// The calldata decoded, when aomi knows the recipient's ABI.
    #[schema(required = true)]
    pub decoded_call: Option<DecodedCall>,
    /// The block it is in; none while pending.
    #[schema(required = true)]
    pub block_number: Option<u64>,
    /// True while it is not in a block.
    pub pending: bool,
}

/// The output of `get_receipt`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptInfo {
    /// The transaction's hash.
    #[schema(value_type = String)]
    pub hash: B256,
    /// The network read.
    pub network: String,
    /// `success` or `reverted`.
    pub status: ReceiptStatus,
    /// True when it succeeded.
    pub success: bool,
    /// The block it is in.
    #[schema(required = true)]
    pub block_number: Option<u64>,
    /// The sender.
    #[schema(value_type = String)]
    pub from: Address,
    /// The recipient; none for a contract creation.
    #[schema(value_type = Option<String>, required = true)]
    pub to: Option<Address>,
    /// Gas used, decimal.
    pub gas_used: String,
    /// The price paid per gas in wei, decimal.
    pub effective_gas_price: String,
    /// The contract it created.
    #[schema(value_type = Option<String>, required = true)]
    pub contract_address: Option<Address>,
    /// Its event logs.
    pub logs: Vec<ReceiptLog>,
}

/// Whether a mined transaction succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// It succeeded.
    Success,
    /// It reverted.
    Reverted,
}

/// An event log of a receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptLog {
    /// The contract that emitted it.
    #[schema(value_type = String)]
    pub address: Address,
    /// Its topics.
    #[schema(value_type = Vec<String>)]
    pub topics: Vec<B256>,
    /// Its data, `0x` hex.
    pub data: String,
    /// The event decoded, when aomi knows the emitter's ABI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<DecodedEvent>,
}

/// An event log decoded with its contract's ABI.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecodedEvent {
    /// The contract's name.
    pub contract: String,
    /// The event's signature: `Transfer(address,address,uint256)`.
    pub event: String,
    /// Its arguments by name (by position where unnamed).
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    pub args: Map<String, Value>,
}

/// `get_transaction`: a transaction and, when the target's ABI is known, its decoded call.
#[derive(Debug, Clone)]
pub struct GetTransaction(pub Arc<ChainSessions>);

impl TypedTool for GetTransaction {
    const NAME: &'static str = "get_transaction";
    type Args = HashArgs;
    type Output = TransactionInfo;

    fn description(&self) -> String {
        "A transaction by hash: from, to, value, nonce, gas, calldata (decoded when the contract's ABI is known), block.".into()
    }

    async fn run(&self, args: HashArgs, ctx: ToolContext) -> Result<ToolOutput<TransactionInfo>, ToolError> {
        let hash = parse_hash(&args.hash, "transaction").map_err(failed)?;
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let tx = conn
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(|e| failed(rpc(e, &conn)))?
            .ok_or_else(|| ToolError::Failed(format!("no transaction {hash} on {}", conn.network.name)))?;
        let native = &conn.network.native;
        let to = tx.to();
        let decoded = to.and_then(|to| self.decode_call(conn.network.chain_id, to, tx.input()));
        let value = tx.value();
        let summary = format!(
            "{} sent {} {} to {}{}",
            short(&tx.from()),
            format_units(value, native.decimals),
            native.symbol,
            to.map(|a| short(&a)).unwrap_or_else(|| "a new contract".into()),
            decoded.as_ref().map(|d| format!(", calling {}", d.function)).unwrap_or_default(),
        );
        Ok(ToolOutput::new(
            TransactionInfo {
                hash,
                network: conn.network.name.clone(),
                from: tx.from(),
                to,
                value_wei: value.to_string(),
                value: format_units(value, native.decimals),
                nonce: tx.nonce(),
                gas_limit: tx.gas_limit().to_string(),
                chain_id: tx.chain_id(),
                input: hex::encode_prefixed(tx.input()),
                decoded_call: decoded,
                block_number: tx.block_number(),
                pending: tx.block_number().is_none(),
            },
            summary,
        ))
    }
}

impl GetTransaction {
    fn decode_call(&self, chain_id: u64, to: Address, input: &[u8]) -> Option<DecodedCall> {
        let contract = self.0.contracts().get(chain_id, to)?;
        let selector = input.get(..4)?;
        let function = contract.abi.functions().find(|f| f.selector().as_slice() == selector)?;
        let values = function.abi_decode_input(&input[4..]).ok()?;
        Some(DecodedCall::new(Some(contract.name), function, &values))
    }
}

/// `get_receipt`: whether a transaction succeeded, its gas, and its logs decoded when known.
#[derive(Debug, Clone)]
pub struct GetReceipt(pub Arc<ChainSessions>);

impl TypedTool for GetReceipt {
    const NAME: &'static str = "get_receipt";
    type Args = HashArgs;
    type Output = ReceiptInfo;

    fn description(&self) -> String {
        "A transaction's receipt: success or failure, gas used, block, created contract, and its event logs (decoded when the emitting contract's ABI is known).".into()
    }

    async fn run(&self, args: HashArgs, ctx: ToolContext) -> Result<ToolOutput<ReceiptInfo>, ToolError> {
        let hash = parse_hash(&args.hash, "transaction").map_err(failed)?;
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let receipt =
            conn.provider.get_transaction_receipt(hash).await.map_err(|e| failed(rpc(e, &conn)))?.ok_or_else(|| {
                ToolError::Failed(format!("no receipt for {hash} on {}: unknown or still pending", conn.network.name))
            })?;
        let logs: Vec<ReceiptLog> =
            receipt.logs().iter().map(|log| self.decode_log(conn.network.chain_id, log)).collect();
        let (status, word) =
            if receipt.status() { (ReceiptStatus::Success, "success") } else { (ReceiptStatus::Reverted, "reverted") };
        let summary = format!(
            "Transaction {word} in block {} on {}, {} gas, {} log(s)",
            receipt.block_number.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
            conn.network.name,
            receipt.gas_used,
            logs.len()
        );
        Ok(ToolOutput::new(
            ReceiptInfo {
                hash,
                network: conn.network.name.clone(),
                status,
                success: receipt.status(),
                block_number: receipt.block_number,
                from: receipt.from,
                to: receipt.to,
                gas_used: receipt.gas_used.to_string(),
                effective_gas_price: receipt.effective_gas_price.to_string(),
                contract_address: receipt.contract_address,
                logs,
            },
            summary,
        ))
    }
}

impl GetReceipt {
    fn decode_log(&self, chain_id: u64, log: &Log) -> ReceiptLog {
        let address = log.address();
        let decoded = self.0.contracts().get(chain_id, address).and_then(|contract| {
            let topic = log.topics().first()?;
            let event = contract.abi.events().find(|e| !e.anonymous && &e.selector() == topic)?;
            let args = decode_event_args(event, log.data())?;
            Some(DecodedEvent { contract: contract.name, event: event.signature(), args })
        });
        ReceiptLog { address, topics: log.topics().to_vec(), data: hex::encode_prefixed(&log.data().data), decoded }
    }
}
