//! `eth_simulateV1` on the wire: the request aomi sends and the parts of the answer it reads.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, U64, U256, hex};
use alloy::providers::Provider;
use alloy::transports::{RpcError, TransportErrorKind};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::ChainProvider;

/// One call of an `eth_simulateV1` block, in the JSON the spec defines.
pub(crate) fn call_json(from: Address, to: Address, value: U256, data: &[u8], gas: Option<u64>) -> Value {
    let mut call = json!({
        "from": from,
        "to": to,
        "value": format!("{value:#x}"),
        "input": hex::encode_prefixed(data),
    });
    if let Some(gas) = gas {
        call["gas"] = json!(format!("{gas:#x}"));
    }
    call
}

/// An `eth_simulateV1` result block, reduced to what aomi reads (nodes add their own block fields).
#[derive(Debug, Deserialize)]
struct SimBlock {
    calls: Vec<SimCall>,
}

/// One call's result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SimCall {
    #[serde(default)]
    pub return_data: Bytes,
    #[serde(default)]
    pub logs: Vec<SimLog>,
    pub gas_used: U64,
    pub status: U64,
    #[serde(default)]
    pub error: Option<SimError>,
}

impl SimCall {
    /// Whether the call succeeded (status 1).
    pub fn succeeded(&self) -> bool {
        self.status.to::<u64>() == 1
    }

    /// The revert data: the return data, or the error's `data` where a node puts it there.
    pub fn revert_data(&self) -> Bytes {
        if !self.return_data.is_empty() {
            return self.return_data.clone();
        }
        self.error
            .as_ref()
            .and_then(|e| e.data.as_ref())
            .and_then(Value::as_str)
            .and_then(|text| hex::decode(text).ok())
            .map(Bytes::from)
            .unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SimLog {
    pub address: Address,
    pub topics: Vec<B256>,
    #[serde(default)]
    pub data: Bytes,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SimError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    data: Option<Value>,
}

/// Why an `eth_simulateV1` request did not give results.
#[derive(Debug)]
pub(crate) enum SimFailure {
    /// The node does not have the method.
    Unsupported,
    /// The node refused the transaction before running it (insufficient funds, intrinsic gas).
    Rejected(String),
    /// Any other RPC failure.
    Rpc(RpcError<TransportErrorKind>),
}

/// Runs `calls` in one simulated block on top of `block`; returns the calls' results.
pub(crate) async fn simulate_calls(
    provider: &ChainProvider,
    calls: Vec<Value>,
    block: BlockNumberOrTag,
) -> Result<Vec<SimCall>, SimFailure> {
    let payload = json!({
        "blockStateCalls": [{ "calls": calls }],
        "traceTransfers": true,
        "validation": false,
    });
    let blocks: Vec<SimBlock> =
        provider.client().request("eth_simulateV1", (payload, block)).await.map_err(|error| match error {
            RpcError::ErrorResp(payload) => {
                let message = payload.message.to_ascii_lowercase();
                let unsupported = payload.code == -32601
                    || ["method not found", "not supported", "does not exist", "unsupported", "not available"]
                        .iter()
                        .any(|m| message.contains(m));
                let rejected = ["insufficient funds", "intrinsic gas", "gas too low", "nonce too"]
                    .iter()
                    .any(|m| message.contains(m));
                if unsupported {
                    SimFailure::Unsupported
                } else if rejected {
                    SimFailure::Rejected(payload.message.to_string())
                } else {
                    SimFailure::Rpc(RpcError::ErrorResp(payload))
                }
            }
            other => SimFailure::Rpc(other),
        })?;
    let block = blocks
        .into_iter()
        .next()
        .ok_or_else(|| SimFailure::Rpc(RpcError::local_usage_str("eth_simulateV1 answered no block")))?;
    Ok(block.calls)
}
