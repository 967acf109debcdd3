//! What is simulated: a transaction request, checked.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, hex};
use alloy::rpc::types::TransactionRequest;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ChainError;

/// A transaction request to simulate: what a wallet would be asked to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationRequest {
    /// The chain the transaction is for.
    pub chain_id: u64,
    /// The sender (the wallet's address).
    pub from: Address,
    /// The recipient or contract called.
    pub to: Address,
    /// Native coin sent, in wei.
    pub value: U256,
    /// Calldata.
    pub data: Bytes,
    /// The gas limit, when the request sets one (the simulation then runs with it).
    pub gas: Option<u64>,
    /// The chain the wallet is on now, when known: a request for another chain is a risk.
    pub wallet_chain_id: Option<u64>,
}

impl SimulationRequest {
    /// The request as an alloy call.
    pub fn transaction(&self) -> TransactionRequest {
        let tx =
            TransactionRequest::default().from(self.from).to(self.to).value(self.value).input(self.data.clone().into());
        match self.gas {
            Some(gas) => tx.with_gas_limit(gas),
            None => tx,
        }
    }

    /// Parses the JSON body of `POST /api/simulate`: `{"chainId", "from", "to", "value"?: "<wei>",
    /// "data"?: "0x…", "gas"?: "<limit>"}`. Every field is checked and a bad one is named.
    pub fn from_json(body: &Value) -> Result<Self, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Body {
            chain_id: Value,
            from: String,
            to: String,
            #[serde(default)]
            value: Option<Value>,
            #[serde(default)]
            data: Option<String>,
            #[serde(default)]
            gas: Option<Value>,
            #[serde(default)]
            wallet_chain_id: Option<Value>,
        }
        let body: Body = serde_json::from_value(body.clone())
            .map_err(|e| ChainError::InvalidInput(format!("the simulation request is invalid: {e}")))?;
        let chain_id = integer(&body.chain_id, "chainId")?;
        let chain_id = u64::try_from(chain_id).map_err(|_| ChainError::InvalidInput("chainId is too large".into()))?;
        let value = body.value.as_ref().map(|v| integer(v, "value")).transpose()?.unwrap_or(U256::ZERO);
        let gas = body
            .gas
            .as_ref()
            .map(|g| {
                integer(g, "gas").and_then(|g| {
                    u64::try_from(g).map_err(|_| ChainError::InvalidInput("gas is too large for a gas limit".into()))
                })
            })
            .transpose()?;
        let wallet_chain_id = body
            .wallet_chain_id
            .as_ref()
            .map(|c| {
                integer(c, "walletChainId").and_then(|c| {
                    u64::try_from(c).map_err(|_| ChainError::InvalidInput("walletChainId is too large".into()))
                })
            })
            .transpose()?;
        let data = match body.data.as_deref().map(str::trim) {
            None | Some("") | Some("0x") => Bytes::new(),
            Some(text) => match text.strip_prefix("0x").map(hex::decode) {
                Some(Ok(bytes)) => Bytes::from(bytes),
                _ => return Err(ChainError::InvalidInput(format!("data must be 0x-hex calldata, got \"{text}\""))),
            },
        };
        Ok(SimulationRequest {
            chain_id,
            from: address(&body.from, "from")?,
            to: address(&body.to, "to")?,
            value,
            data,
            gas,
            wallet_chain_id,
        })
    }
}

/// An address field: 0x and 40 hex digits; mixed case must carry a valid checksum.
fn address(text: &str, field: &str) -> Result<Address, ChainError> {
    match aomi_core::Address::parse(text) {
        Ok(address) => Ok(address.into_alloy()),
        Err(aomi_core::AddressError::BadChecksum(_)) => {
            Err(ChainError::InvalidInput(format!("{field}: \"{text}\" has a wrong EIP-55 checksum")))
        }
        Err(aomi_core::AddressError::Malformed(_)) => Err(ChainError::InvalidInput(format!(
            "{field}: \"{text}\" is not an address (0x followed by 40 hex digits)"
        ))),
    }
}

/// A non-negative integer given as a decimal string, a 0x-hex string, or an exact JSON integer.
fn integer(value: &Value, field: &str) -> Result<U256, ChainError> {
    let bad = || {
        ChainError::InvalidInput(format!(
            "{field} must be a non-negative integer (a decimal string like \"1500000\"), got {value}"
        ))
    };
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) if number.is_u64() => number.to_string(),
        _ => return Err(bad()),
    };
    if let Some(hex_digits) = text.strip_prefix("0x") {
        return U256::from_str_radix(hex_digits, 16).map_err(|_| bad());
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse::<U256>().map_err(|_| ChainError::InvalidInput(format!("{field} is too large for 256 bits")))
}
