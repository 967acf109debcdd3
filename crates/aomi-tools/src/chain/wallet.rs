//! `send_transaction_to_wallet`: a client-side tool. The server validates the arguments and builds
//! the transaction request; the wallet (never the server) signs and sends it, and the front end
//! returns `{"transactionHash": "0x…"}` (or an error for a rejection) as the call's output.
//!
//! This is the builder; the registered tool is [`SimulateBeforeSend`](super::SimulateBeforeSend),
//! which simulates what this builds before the request leaves the server.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::{arguments, encode_call, named_values, parse_function};
use aomi_chain::alloy::primitives::{Bytes, U256, hex};
use aomi_chain::units::format_units;
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{connection, failed, parse_args, resolve_address, short};

/// `send_transaction_to_wallet`.
#[derive(Debug, Clone)]
pub struct SendTransactionToWallet(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendArgs {
    to: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    gas: Option<Value>,
    description: String,
}

/// Reads a non-negative integer given as a decimal string (or an exact JSON integer).
fn integer(value: &Value, what: &str) -> Result<U256, ToolError> {
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        other => {
            return Err(ToolError::InvalidArguments(format!(
                "{what} must be an integer in base units, as a decimal string; got {other}"
            )));
        }
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ToolError::InvalidArguments(format!(
            "{what} \"{text}\" must be a whole number of base units (wei), as decimal digits: 1.5 ETH is \"1500000000000000000\""
        )));
    }
    text.parse::<U256>()
        .map_err(|_| ToolError::InvalidArguments(format!("{what} \"{text}\" is too large for 256 bits")))
}

impl Tool for SendTransactionToWallet {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "send_transaction_to_wallet".into(),
            description: "Asks the user's wallet to send a transaction on the chat's network. aomi builds the request (to, value, calldata, chain id); the user reviews and signs it in their wallet, or rejects it. The result is the transaction hash, or the rejection. For a contract call give signature + args; for a plain transfer give value only. Amounts are integers in base units (wei; token base units using the token's decimals).".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "to": { "type": "string", "description": "recipient or contract: 0x address or ENS name" },
                    "value": { "type": "string", "description": "native coin to send, in wei, as a decimal string (default 0)" },
                    "signature": { "type": "string", "description": "function to call, like transfer(address,uint256)" },
                    "args": { "type": "array", "items": {}, "description": "the function's arguments: integers as decimal strings in base units" },
                    "data": { "type": "string", "description": "raw calldata (0x-hex), instead of signature + args" },
                    "gas": { "type": "string", "description": "gas limit; default: the wallet estimates" },
                    "description": { "type": "string", "description": "one sentence shown to the user: what this transaction does" }
                },
                "required": ["to", "description"],
                "additionalProperties": false
            }),
        }
    }

    fn runs_on_client(&self) -> bool {
        true
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: SendArgs = parse_args(args)?;
            if args.description.trim().is_empty() {
                return Err(ToolError::InvalidArguments("\"description\" must say what the transaction does".into()));
            }
            let conn = connection(&self.0, &ctx, None)?;
            let to = resolve_address(&conn, &args.to).await.map_err(failed)?;
            let value = args.value.as_ref().map(|v| integer(v, "value")).transpose()?.unwrap_or(U256::ZERO);
            let gas = args.gas.as_ref().map(|g| integer(g, "gas")).transpose()?;
            let (data, decoded) = match (&args.signature, &args.data) {
                (Some(_), Some(_)) => {
                    return Err(ToolError::InvalidArguments(
                        "give either \"signature\" + \"args\" or \"data\", not both".into(),
                    ));
                }
                (Some(signature), None) => {
                    let function = parse_function(signature).map_err(|e| failed(e.into()))?;
                    let values = arguments(&function, &args.args).map_err(|e| failed(e.into()))?;
                    let data = encode_call(&function, &args.args).map_err(|e| failed(e.into()))?;
                    let named: Map<String, Value> = named_values(&values, &function.inputs).into_iter().collect();
                    (data, Some(json!({ "function": function.signature(), "args": named })))
                }
                (None, Some(data)) => {
                    let bytes = hex::decode(data.trim()).map_err(|_| {
                        ToolError::InvalidArguments(format!("\"data\" must be 0x-hex calldata, got \"{data}\""))
                    })?;
                    (Bytes::from(bytes), None)
                }
                (None, None) => {
                    if !args.args.is_empty() {
                        return Err(ToolError::InvalidArguments("\"args\" needs a \"signature\"".into()));
                    }
                    (Bytes::new(), None)
                }
            };
            let from = ctx.wallet.as_ref().and_then(|w| w.address).map(aomi_core::Address::into_alloy);
            let network = &conn.network;
            let request = json!({
                "chainId": network.chain_id,
                "network": network.name,
                "from": from,
                "to": to,
                "value": value.to_string(),
                "data": hex::encode_prefixed(&data),
                "gas": gas.map(|g| g.to_string()),
                "description": args.description.trim(),
                "decodedCall": decoded,
            });
            let amount = if value.is_zero() {
                String::new()
            } else {
                format!(" with {} {}", format_units(value, network.native.decimals), network.native.symbol)
            };
            Ok(ToolOutput::new(
                request,
                format!(
                    "Waiting for your wallet: {} (to {}{amount} on {})",
                    args.description.trim(),
                    short(&to),
                    network.name
                ),
            ))
        })
    }
}
