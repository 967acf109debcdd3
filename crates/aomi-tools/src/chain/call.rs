//! `call_view_function` and `encode_function_call`: contract calls from a human signature (or a
//! function name when aomi knows the contract's ABI) and JSON arguments.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::abi::{
    arguments, decode_output, describe_function, encode_call, parse_function, select_function, sol_to_json,
};
use aomi_chain::alloy::json_abi::{Function, JsonAbi};
use aomi_chain::alloy::primitives::{Address, hex};
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account::eth_call;
use super::{connection, failed, parse_args, resolve_address, short, with_network};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallArgs {
    address: String,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    function: Option<String>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    network: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EncodeArgs {
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    function: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    network: Option<String>,
}

fn args_schema() -> Value {
    json!({
        "type": "array",
        "description": "one JSON value per parameter: integers as decimal strings (\"1500000\"), addresses and bytes as 0x-hex, tuples as arrays or objects by field name, arrays as arrays",
        "items": {}
    })
}

fn signature_schema() -> Value {
    json!({
        "type": "string",
        "description": "the function's signature with canonical types, outputs in a second pair of parentheses: balanceOf(address)(uint256), submit((address,(address,uint256)[],bytes32))"
    })
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
            // The known ABI's function of the same selector has names and outputs too.
            let known = abi.and_then(|abi| abi.functions().find(|f| f.selector() == function.selector()));
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

impl Tool for CallViewFunction {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "call_view_function".into(),
            description: "Calls a contract function without sending a transaction (eth_call) and decodes what it returns. Give the signature with its outputs, or just the function name when the contract's ABI is known. A revert is decoded (Error(string), Panic, custom errors).".into(),
            parameters: with_network(
                json!({
                    "address": { "type": "string", "description": "the contract's 0x address or ENS name" },
                    "signature": signature_schema(),
                    "function": { "type": "string", "description": "a function name, instead of a signature, when the ABI is known" },
                    "args": args_schema()
                }),
                &["address"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: CallArgs = parse_args(args)?;
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
                (json!({ "raw": raw }), raw)
            } else {
                let values = decode_output(&function, &output).map_err(|e| failed(e.into()))?;
                let shown = values.iter().map(plain).collect::<Vec<_>>().join(", ");
                (Value::Array(values), shown)
            };
            Ok(ToolOutput::new(
                json!({
                    "address": address,
                    "network": conn.network.name,
                    "function": function.signature_with_outputs(),
                    "result": result,
                }),
                format!("{}.{} → {shown}", short(&address), function.name),
            ))
        })
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

impl Tool for EncodeFunctionCall {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "encode_function_call".into(),
            description: "ABI-encodes a function call (selector + arguments) from its signature and JSON arguments; supports tuples, nested structs, arrays, bytes32 and overloads. Returns the calldata hex and the arguments as understood.".into(),
            parameters: with_network(
                json!({
                    "signature": signature_schema(),
                    "function": { "type": "string", "description": "a function name, with address, when the contract's ABI is known" },
                    "address": { "type": "string", "description": "the contract, to find its ABI when only a name is given" },
                    "args": args_schema()
                }),
                &[],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: EncodeArgs = parse_args(args)?;
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
            let mut described = describe_function(&function);
            described["data"] = json!(hex::encode_prefixed(&data));
            described["args"] = Value::Array(normalized);
            Ok(ToolOutput::new(
                described,
                format!("{} encoded: {} bytes of calldata", function.signature(), data.len()),
            ))
        })
    }
}
