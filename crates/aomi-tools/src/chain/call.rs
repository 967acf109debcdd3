//! `call_view_function` and `encode_function_call`: contract calls from a human signature (or a
//! function name when aomi knows the contract's ABI) and JSON arguments.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::{arguments, decode_output, encode_call, parse_function, select_function, sol_to_json};
use aomi_chain::alloy::json_abi::{Function, JsonAbi};
use aomi_chain::alloy::primitives::{Address, hex};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::account::eth_call;
use super::decoded::AbiParam;
use super::{NETWORK_ARGUMENT, connection, failed, resolve_address, short};

/// What the model reads about a function's arguments.
const ARGS_ARGUMENT: &str = "one JSON value per parameter: integers as decimal strings (\"1500000\"), addresses and bytes as 0x-hex, tuples as arrays or objects by field name, arrays as arrays";

/// What the model reads about a function's signature.
const SIGNATURE_ARGUMENT: &str = "the function's signature with canonical types, outputs in a second pair of parentheses: balanceOf(address)(uint256), submit((address,(address,uint256)[],bytes32))";

/// The arguments of `call_view_function`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// the contract's 0x address or ENS name
    pub address: String,
    /// The function's signature.
    #[serde(default)]
    #[schemars(description = SIGNATURE_ARGUMENT)]
    pub signature: Option<String>,
    /// a function name, instead of a signature, when the ABI is known
    #[serde(default)]
    pub function: Option<String>,
    /// The function's arguments.
    #[serde(default)]
    #[schemars(description = ARGS_ARGUMENT)]
    pub args: Vec<Value>,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The arguments of `encode_function_call`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncodeArgs {
    /// The function's signature.
    #[serde(default)]
    #[schemars(description = SIGNATURE_ARGUMENT)]
    pub signature: Option<String>,
    /// a function name, with address, when the contract's ABI is known
    #[serde(default)]
    pub function: Option<String>,
    /// the contract, to find its ABI when only a name is given
    #[serde(default)]
    pub address: Option<String>,
    /// The function's arguments.
    #[serde(default)]
    #[schemars(description = ARGS_ARGUMENT)]
    pub args: Vec<Value>,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `call_view_function`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViewCall {
    /// The contract called (an ENS name resolved).
    #[schema(value_type = String)]
    pub address: Address,
    /// The network read.
    pub network: String,
    /// The function, with its outputs: `balanceOf(address)(uint256)`.
    pub function: String,
    /// What it returned.
    pub result: ViewResult,
}

/// What a view call returned: decoded values, or the raw bytes of a function without declared
/// outputs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ViewResult {
    /// One JSON value per output (integers as decimal strings).
    Values(Vec<Value>),
    /// The bytes returned, for a function declared without outputs.
    Raw {
        /// `0x` hex.
        raw: String,
    },
}

/// The output of `encode_function_call`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EncodedCall {
    /// The canonical signature: `transfer(address,uint256)`.
    pub signature: String,
    /// The 4-byte selector, `0x` hex.
    pub selector: String,
    /// The parameters.
    pub inputs: Vec<AbiParam>,
    /// The outputs.
    pub outputs: Vec<AbiParam>,
    /// The calldata, `0x` hex.
    pub data: String,
    /// The arguments as understood, in order (tuples as objects by field name where named).
    pub args: Vec<Value>,
}

/// Picks the function: from its signature (the known ABI's version of it when there is one), or by
/// name from the known ABI.
fn choose_function(
    signature: Option<&str>,
    name: Option<&str>,
    abi: Option<&JsonAbi>,
    address: Option<&Address>,
    args: &[Value],
) -> Result<Function, ToolError> {
    match (signature.filter(|s| !s.trim().is_empty()), name.filter(|n| !n.trim().is_empty())) {
        (Some(signature), _) => {
            let function = parse_function(signature).map_err(|e| failed(e.into()))?;
            // The known ABI's function of the same selector has names and outputs too. Looked up
            // by name first: a selector is a hash of the signature, computed here only for the
            // overloads of that name, not for every function of the ABI.
            let selector = function.selector();
            let known = abi
                .and_then(|abi| abi.function(&function.name))
                .and_then(|overloads| overloads.iter().find(|f| f.selector() == selector));
            Ok(known.cloned().unwrap_or(function))
        }
        (None, Some(name)) => {
            let Some(abi) = abi else {
                let whose = address.map(|a| format!(" for {a}")).unwrap_or_default();
                return Err(ToolError::InvalidArguments(format!(
                    "aomi knows no ABI{whose}: give the full signature, like {name}(address)(uint256)"
                )));
            };
            select_function(abi, name.trim(), args).cloned().map_err(|e| failed(e.into()))
        }
        (None, None) => Err(ToolError::InvalidArguments(
            "give \"signature\" (like balanceOf(address)(uint256)) or \"function\" (a name, when the contract's ABI is known)".into(),
        )),
    }
}

/// `call_view_function`: reads a contract (an `eth_call`), decoding the result and any revert.
#[derive(Debug, Clone)]
pub struct CallViewFunction(pub Arc<ChainSessions>);

impl TypedTool for CallViewFunction {
    const NAME: &'static str = "call_view_function";
    type Args = CallArgs;
    type Output = ViewCall;

    fn description(&self) -> String {
        "Calls a contract function without sending a transaction (eth_call) and decodes what it returns. Give the signature with its outputs, or just the function name when the contract's ABI is known. A revert is decoded (Error(string), Panic, custom errors).".into()
    }

    async fn run(&self, args: CallArgs, ctx: ToolContext) -> Result<ToolOutput<ViewCall>, ToolError> {
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
        let abi = self.0.contracts().get(conn.network.chain_id, address).map(|c| c.abi);
        let function = choose_function(
            args.signature.as_deref(),
            args.function.as_deref(),
            abi.as_deref(),
            Some(&address),
            &args.args,
        )?;
        let data = encode_call(&function, &args.args).map_err(|e| failed(e.into()))?;
        let output = eth_call(&self.0, &conn, address, data.to_vec()).await.map_err(failed)?;
        let (result, shown) = if function.outputs.is_empty() {
            let raw = hex::encode_prefixed(&output);
            (ViewResult::Raw { raw: raw.clone() }, raw)
        } else {
            let values = decode_output(&function, &output).map_err(|e| failed(e.into()))?;
            let shown = values.iter().map(plain).collect::<Vec<_>>().join(", ");
            (ViewResult::Values(values), shown)
        };
        Ok(ToolOutput::new(
            ViewCall {
                address,
                network: conn.network.name.clone(),
                function: function.signature_with_outputs(),
                result,
            },
            format!("{}.{} → {shown}", short(&address), function.name),
        ))
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `encode_function_call`: calldata for a function and its arguments, without any request.
#[derive(Debug, Clone)]
pub struct EncodeFunctionCall(pub Arc<ChainSessions>);

impl TypedTool for EncodeFunctionCall {
    const NAME: &'static str = "encode_function_call";
    type Args = EncodeArgs;
    type Output = EncodedCall;

    fn description(&self) -> String {
        "ABI-encodes a function call (selector + arguments) from its signature and JSON arguments; supports tuples, nested structs, arrays, bytes32 and overloads. Returns the calldata hex and the arguments as understood.".into()
    }

    async fn run(&self, args: EncodeArgs, ctx: ToolContext) -> Result<ToolOutput<EncodedCall>, ToolError> {
        let (abi, address) = match &args.address {
            Some(address) => {
                let conn = connection(&self.0, &ctx, args.network.as_deref())?;
                let address = resolve_address(&conn, address).await.map_err(failed)?;
                (self.0.contracts().get(conn.network.chain_id, address).map(|c| c.abi), Some(address))
            }
            None => (None, None),
        };
        let function = choose_function(
            args.signature.as_deref(),
            args.function.as_deref(),
            abi.as_deref(),
            address.as_ref(),
            &args.args,
        )?;
        let values = arguments(&function, &args.args).map_err(|e| failed(e.into()))?;
        let data = encode_call(&function, &args.args).map_err(|e| failed(e.into()))?;
        let normalized: Vec<Value> =
            values.iter().zip(&function.inputs).map(|(value, param)| sol_to_json(value, Some(param))).collect();
        let summary = format!("{} encoded: {} bytes of calldata", function.signature(), data.len());
        Ok(ToolOutput::new(
            EncodedCall {
                signature: function.signature(),
                selector: hex::encode_prefixed(function.selector()),
                inputs: AbiParam::list(&function.inputs),
                outputs: AbiParam::list(&function.outputs),
                data: hex::encode_prefixed(&data),
                args: normalized,
            },
            summary,
        ))
    }
}
