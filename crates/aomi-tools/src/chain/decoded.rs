//! A contract call decoded with its ABI, as `get_transaction` and the wallet request show it.

use aomi_chain::abi::named_values;
use aomi_chain::alloy::dyn_abi::DynSolValue;
use aomi_chain::alloy::json_abi::{Function, Param};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A contract call decoded: `{function: "transfer(address,uint256)", args: {to: "0x…", amount:
/// "1500000"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DecodedCall {
    /// The contract's name, when the call was decoded with a known contract's ABI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// The function's canonical signature.
    pub function: String,
    /// Its arguments by name (by position where unnamed); integers as decimal strings.
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    pub args: Map<String, Value>,
    /// Its parameters in order, with their types: what `args` holds, without parsing `function`.
    pub inputs: Vec<AbiParam>,
}

impl DecodedCall {
    /// `function` called with `values`, decoded with the ABI of `contract` when known.
    pub(crate) fn new(contract: Option<String>, function: &Function, values: &[DynSolValue]) -> Self {
        DecodedCall {
            contract,
            function: function.signature(),
            args: named_args(values, &function.inputs),
            inputs: AbiParam::list(&function.inputs),
        }
    }
}

/// A parameter of a function: its name (may be empty) and canonical type.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AbiParam {
    /// Its name; empty when unnamed.
    pub name: String,
    /// Its canonical type: `uint256`, `(address,uint256)[]`.
    #[serde(rename = "type")]
    pub ty: String,
}

impl AbiParam {
    /// The parameters, in order.
    pub(crate) fn list(params: &[Param]) -> Vec<AbiParam> {
        params.iter().map(|p| AbiParam { name: p.name.clone(), ty: p.selector_type().into_owned() }).collect()
    }
}

/// Arguments by parameter name, or by position where a parameter has none.
fn named_args(values: &[DynSolValue], params: &[Param]) -> Map<String, Value> {
    named_values(values, params).into_iter().collect()
}
