//! `send_transaction_to_wallet`: a client-side tool. The server validates the arguments and builds
//! the transaction request; the wallet (never the server) signs and sends it, and the front end
//! returns `{"transactionHash": "0x…"}` (or an error for a rejection) as the call's output.
//!
//! This is the builder; the registered tool is [`SimulateBeforeSend`](super::SimulateBeforeSend),
//! which simulates what this builds before the request leaves the server. Its name
//! ([`WALLET_TOOL`]) and its output ([`TransactionRequest`]) are what the server and the page
//! know the wallet call by.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::{arguments, encode_call, parse_function};
use aomi_chain::alloy::primitives::{Address, Bytes, U256, hex};
use aomi_chain::units::format_units;
use aomi_core::{ToolContext, ToolError, ToolOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::decoded::DecodedCall;
use super::{connection, failed, resolve_address, short};

/// The name of the wallet tool: the call the client runs, and whose output the page returns.
pub const WALLET_TOOL: &str = "send_transaction_to_wallet";

/// What the model reads about the wallet tool.
pub(crate) const DESCRIPTION: &str = "Asks the user's wallet to send a transaction on the chat's network. aomi builds the request (to, value, calldata, chain id); the user reviews and signs it in their wallet, or rejects it. The result is the transaction hash, or the rejection. For a contract call give signature + args; for a plain transfer give value only. Amounts are integers in base units (wei; token base units using the token's decimals).";

/// The wallet tool's name as a schema (a string of one value), so that the page's generated types
/// hold it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum WalletToolName {
    /// The one value.
    #[serde(rename = "send_transaction_to_wallet")]
    SendTransactionToWallet,
}

/// The request builder of `send_transaction_to_wallet`.
#[derive(Debug, Clone)]
pub struct SendTransactionToWallet(pub Arc<ChainSessions>);

/// The arguments of `send_transaction_to_wallet`. `Serialize` writes them as a model would (absent
/// fields left out), for the calls aomi makes itself ([`crate::intent`]).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// recipient or contract: 0x address or ENS name
    pub to: String,
    /// native coin to send, in wei, as a decimal string (default 0)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub value: Option<Value>,
    /// function to call, like transfer(address,uint256)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// the function's arguments: integers as decimal strings in base units
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Value>,
    /// raw calldata (0x-hex), instead of signature + args
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// gas limit; default: the wallet estimates
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub gas: Option<Value>,
    /// one sentence shown to the user: what this transaction does
    pub description: String,
    /// Only when the user, in a message after you explained a failed simulation or a danger warning, asks to send this same transaction anyway: true. It is honoured only after such a message; never set it on your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_failed_simulation: Option<bool>,
}

/// The output of `send_transaction_to_wallet` on the server: the transaction the wallet is asked
/// to send (streamed as a `data-wallet-request` part; the call's final output is the wallet's
/// answer).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRequest {
    /// The chain it is for.
    pub chain_id: u64,
    /// That chain's network name.
    pub network: String,
    /// The wallet's address, when connected.
    #[schema(value_type = Option<String>, required = true)]
    pub from: Option<Address>,
    /// The recipient or contract called.
    #[schema(value_type = String)]
    pub to: Address,
    /// Native coin sent, in wei, decimal.
    pub value: String,
    /// Calldata, `0x` hex (`0x` for a plain transfer).
    pub data: String,
    /// Gas limit, decimal; none lets the wallet estimate.
    #[schema(required = true)]
    pub gas: Option<String>,
    /// What the transaction does, for the user.
    pub description: String,
    /// The call, decoded, when given as signature + args.
    #[schema(required = true)]
    pub decoded_call: Option<DecodedCall>,
}

/// A built request, with the exact values it carries (for the simulation).
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    /// The request and its summary.
    pub output: ToolOutput<TransactionRequest>,
    /// Native coin sent, in wei.
    pub value: U256,
    /// Calldata.
    pub data: Bytes,
    /// The gas limit, when set.
    pub gas: Option<U256>,
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

impl SendTransactionToWallet {
    /// Validates the arguments and builds the request on the chat's network.
    pub async fn build(&self, args: &SendArgs, ctx: &ToolContext) -> Result<BuiltRequest, ToolError> {
        self.build_on(args, ctx, None).await
    }

    /// [`SendTransactionToWallet::build`] on `network` (a name or chain id) instead of the chat's
    /// network when given.
    pub async fn build_on(
        &self,
        args: &SendArgs,
        ctx: &ToolContext,
        network: Option<&str>,
    ) -> Result<BuiltRequest, ToolError> {
        if args.description.trim().is_empty() {
            return Err(ToolError::InvalidArguments("\"description\" must say what the transaction does".into()));
        }
        let conn = connection(&self.0, ctx, network)?;
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
                (data, Some(DecodedCall::new(None, &function, &values)))
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
        let description = args.description.trim().to_owned();
        let amount = if value.is_zero() {
            String::new()
        } else {
            format!(" with {} {}", format_units(value, network.native.decimals), network.native.symbol)
        };
        let summary = format!("Waiting for your wallet: {description} (to {}{amount} on {})", short(&to), network.name);
        let request = TransactionRequest {
            chain_id: network.chain_id,
            network: network.name.clone(),
            from,
            to,
            value: value.to_string(),
            data: hex::encode_prefixed(&data),
            gas: gas.map(|g| g.to_string()),
            description,
            decoded_call: decoded,
        };
        Ok(BuiltRequest { output: ToolOutput::new(request, summary), value, data, gas })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_schema_holds_the_tool_name() {
        assert_eq!(serde_json::to_value(WalletToolName::SendTransactionToWallet).ok(), Some(WALLET_TOOL.into()));
        let schema = aomi_core::typed::parameters::<SendArgs>();
        assert!(schema["properties"][super::super::OVERRIDE_ARGUMENT].is_object(), "{schema}");
    }
}
