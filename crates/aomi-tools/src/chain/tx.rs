//! `get_transaction` and `get_receipt`, with calldata and logs decoded when aomi knows the ABI.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::{decode_call_args, decode_event_args};
use aomi_chain::alloy::consensus::Transaction as _;
use aomi_chain::alloy::network::TransactionResponse as _;
use aomi_chain::alloy::primitives::{Address, hex};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::Log;
use aomi_chain::units::format_units;
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account::rpc;
use super::{connection, failed, parse_args, parse_hash, short, with_network};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashArgs {
    hash: String,
    #[serde(default)]
    network: Option<String>,
}

fn hash_schema() -> Value {
    with_network(
        json!({ "hash": { "type": "string", "description": "the transaction hash, 0x followed by 64 hex digits" } }),
        &["hash"],
    )
}

/// `get_transaction`: a transaction and, when the target's ABI is known, its decoded call.
#[derive(Debug, Clone)]
pub struct GetTransaction(pub Arc<ChainSessions>);

impl Tool for GetTransaction {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_transaction".into(),
            description: "A transaction by hash: from, to, value, nonce, gas, calldata (decoded when the contract's ABI is known), block.".into(),
            parameters: hash_schema(),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: HashArgs = parse_args(args)?;
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
                decoded
                    .as_ref()
                    .and_then(|d| d["function"].as_str())
                    .map(|f| format!(", calling {f}"))
                    .unwrap_or_default(),
            );
            Ok(ToolOutput::new(
                json!({
                    "hash": hash,
                    "network": conn.network.name,
                    "from": tx.from(),
                    "to": to,
                    "valueWei": value.to_string(),
                    "value": format_units(value, native.decimals),
                    "nonce": tx.nonce(),
                    "gasLimit": tx.gas_limit().to_string(),
                    "chainId": tx.chain_id(),
                    "input": hex::encode_prefixed(tx.input()),
                    "decodedCall": decoded,
                    "blockNumber": tx.block_number(),
                    "pending": tx.block_number().is_none(),
                }),
                summary,
            ))
        })
    }
}

impl GetTransaction {
    fn decode_call(&self, chain_id: u64, to: Address, input: &[u8]) -> Option<Value> {
        let contract = self.0.contracts().get(chain_id, to)?;
        let selector = input.get(..4)?;
        let function = contract.abi.functions().find(|f| f.selector().as_slice() == selector)?;
        let args = decode_call_args(function, input)?;
        Some(json!({ "contract": contract.name, "function": function.signature(), "args": args }))
    }
}

/// `get_receipt`: whether a transaction succeeded, its gas, and its logs decoded when known.
#[derive(Debug, Clone)]
pub struct GetReceipt(pub Arc<ChainSessions>);

impl Tool for GetReceipt {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_receipt".into(),
            description: "A transaction's receipt: success or failure, gas used, block, created contract, and its event logs (decoded when the emitting contract's ABI is known).".into(),
            parameters: hash_schema(),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: HashArgs = parse_args(args)?;
            let hash = parse_hash(&args.hash, "transaction").map_err(failed)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            let receipt =
                conn.provider.get_transaction_receipt(hash).await.map_err(|e| failed(rpc(e, &conn)))?.ok_or_else(
                    || {
                        ToolError::Failed(format!(
                            "no receipt for {hash} on {}: unknown or still pending",
                            conn.network.name
                        ))
                    },
                )?;
            let logs: Vec<Value> =
                receipt.logs().iter().map(|log| self.decode_log(conn.network.chain_id, log)).collect();
            let status = if receipt.status() { "success" } else { "reverted" };
            Ok(ToolOutput::new(
                json!({
                    "hash": hash,
                    "network": conn.network.name,
                    "status": status,
                    "success": receipt.status(),
                    "blockNumber": receipt.block_number,
                    "from": receipt.from,
                    "to": receipt.to,
                    "gasUsed": receipt.gas_used.to_string(),
                    "effectiveGasPrice": receipt.effective_gas_price.to_string(),
                    "contractAddress": receipt.contract_address,
                    "logs": logs,
                }),
                format!(
                    "Transaction {status} in block {} on {}, {} gas, {} log(s)",
                    receipt.block_number.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                    conn.network.name,
                    receipt.gas_used,
                    logs.len()
                ),
            ))
        })
    }
}

impl GetReceipt {
    fn decode_log(&self, chain_id: u64, log: &Log) -> Value {
        let address = log.address();
        let mut value = json!({
            "address": address,
            "topics": log.topics(),
            "data": hex::encode_prefixed(&log.data().data),
        });
        let decoded = self.0.contracts().get(chain_id, address).and_then(|contract| {
            let topic = log.topics().first()?;
            let event = contract.abi.events().find(|e| !e.anonymous && &e.selector() == topic)?;
            let args = decode_event_args(event, log.data())?;
            Some(json!({ "contract": contract.name, "event": event.signature(), "args": args }))
        });
        if let Some(decoded) = decoded {
            value["decoded"] = decoded;
        }
        value
    }
}
