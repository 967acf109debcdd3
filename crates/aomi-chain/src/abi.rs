//! ABI handling with alloy's `dyn-abi` and `json-abi`: functions from human signatures, arguments
//! from JSON, return values and revert data back to JSON.
//!
//! Everything the model sends is JSON, so the conversions here are the boundary where its input is
//! checked: each argument is converted against its declared Solidity type and a mismatch names the
//! argument, its type and what was wrong. Integers travel as decimal strings (JSON numbers are
//! accepted only when they are exact integers), tuples as JSON arrays or objects keyed by component
//! name, arrays as JSON arrays; any value may also be given in cast's string syntax
//! (`"(0x…,[1,2])"`), which is what direct commands type.

use alloy::dyn_abi::{DynSolType, DynSolValue, ErrorExt, EventExt, FunctionExt, JsonAbiExt, Specifier};
use alloy::json_abi::{Event, Function, JsonAbi, Param};
use alloy::primitives::{Bytes, LogData, hex};
use alloy::sol_types::{Panic, Revert, SolError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Why a call could not be encoded or a result decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    /// The signature does not parse.
    #[error("\"{signature}\" is not a function signature ({reason}); write it like transfer(address,uint256)")]
    BadSignature {
        /// The signature as given.
        signature: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The function takes another number of arguments.
    #[error("{function} takes {expected} argument(s) but {got} were given")]
    WrongArgCount {
        /// The function's signature.
        function: String,
        /// Its number of inputs.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// One argument does not fit its type.
    #[error("argument {index} ({name}: {ty}) is invalid: {reason}")]
    BadArgument {
        /// Its position, from 0.
        index: usize,
        /// Its name, or `_` when the ABI names none.
        name: String,
        /// Its Solidity type.
        ty: String,
        /// What is wrong.
        reason: String,
    },
    /// The ABI has no function of that name.
    #[error("the contract's ABI has no function \"{name}\"; it has: {available}")]
    NoSuchFunction {
        /// The name asked for.
        name: String,
        /// The function names the ABI has.
        available: String,
    },
    /// Several overloads fit the arguments.
    #[error("\"{name}\" is overloaded and the arguments fit several versions ({candidates}); give the full signature")]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// The signatures that fit.
        candidates: String,
    },
    /// Return data does not match the declared outputs.
    #[error("the return data does not decode as ({outputs}): {reason}")]
    Decode {
        /// The declared output types.
        outputs: String,
        /// The decoder's complaint.
        reason: String,
    },
}

/// The longest signature text [`parse_function`] reads. Real signatures, even Seaport's with named
/// parameters, are a few hundred bytes.
pub const MAX_SIGNATURE_BYTES: usize = 4096;

/// The deepest nesting of tuples and arrays a parameter's type may have. alloy's type parser
/// bounds the nesting of tuples but not of array suffixes, and everything that reads a type
/// (resolving, coercing, encoding, decoding, dropping it) recurses over it: `uint256[]…[]`
/// 100 000 times deep overflowed the stack. Deeper types are refused before anything recurses.
pub const MAX_TYPE_DEPTH: usize = 32;

/// Parses a function from a human signature: `transfer(address,uint256)`, cast's
/// `balanceOf(address)(uint256)` (outputs in a second pair of parentheses), or Solidity's
/// `function balanceOf(address owner) view returns (uint256)`. Tuples, arrays, bytes32 and nested
/// tuples are written as in Solidity's canonical types: `submit((address,(address,uint256)[]))`.
pub fn parse_function(signature: &str) -> Result<Function, AbiError> {
    let text = signature.trim();
    let bad = |reason: String| AbiError::BadSignature { signature: signature.to_owned(), reason };
    if text.len() > MAX_SIGNATURE_BYTES {
        return Err(bad(format!("it is {} bytes long; the limit is {MAX_SIGNATURE_BYTES}", text.len())));
    }
    if !text.contains('(') {
        return Err(bad("it has no parameter list".into()));
    }
    let function = Function::parse(text).map_err(|e| bad(e.to_string()))?;
    check_depth(&function).map_err(bad)?;
    // Resolving every type now turns "uint257" into an error here instead of at encoding time.
    for param in function.inputs.iter().chain(&function.outputs) {
        param.resolve().map_err(|e| bad(format!("type {}: {e}", param.ty)))?;
    }
    Ok(function)
}

/// Refuses a function with a parameter nested deeper than [`MAX_TYPE_DEPTH`]. Functions come from
/// signatures and from ABIs an explorer sent, so both paths check before resolving a type.
fn check_depth(function: &Function) -> Result<(), String> {
    check_params(function.inputs.iter().chain(&function.outputs))
}

fn check_params<'a>(params: impl IntoIterator<Item = &'a Param>) -> Result<(), String> {
    for param in params {
        let depth = type_depth(param, 0);
        if depth > MAX_TYPE_DEPTH {
            return Err(format!(
                "type {} is nested {depth} levels deep; the limit is {MAX_TYPE_DEPTH}",
                param.ty.chars().take(40).collect::<String>()
            ));
        }
    }
    Ok(())
}

/// The nesting of `param`'s type from its text and components, without building the type. Stops
/// counting past the limit, so a hostile ABI's components are not walked to the end.
fn type_depth(param: &Param, above: usize) -> usize {
    let own = above + param.ty.matches('[').count() + usize::from(!param.components.is_empty());
    if own > MAX_TYPE_DEPTH {
        return own;
    }
    param.components.iter().map(|c| type_depth(c, own)).max().unwrap_or(own)
}

/// Encodes a call of `function` with `args` (one JSON value per input): selector and arguments.
pub fn encode_call(function: &Function, args: &[Value]) -> Result<Bytes, AbiError> {
    let values = arguments(function, args)?;
    function.abi_encode_input(&values).map(Bytes::from).map_err(|e| AbiError::BadArgument {
        index: 0,
        name: "_".into(),
        ty: function.signature(),
        reason: e.to_string(),
    })
}

/// Converts `args` to the function's input types, checking their number and each value.
pub fn arguments(function: &Function, args: &[Value]) -> Result<Vec<DynSolValue>, AbiError> {
    check_depth(function).map_err(|reason| AbiError::BadSignature { signature: function.signature(), reason })?;
    if args.len() != function.inputs.len() {
        return Err(AbiError::WrongArgCount {
            function: function.signature(),
            expected: function.inputs.len(),
            got: args.len(),
        });
    }
    function
        .inputs
        .iter()
        .zip(args)
        .enumerate()
        .map(|(index, (param, arg))| {
            let bad = |reason: String| AbiError::BadArgument {
                index,
                name: if param.name.is_empty() { "_".into() } else { param.name.clone() },
                ty: param.selector_type().into_owned(),
                reason,
            };
            let ty = param.resolve().map_err(|e| bad(e.to_string()))?;
            json_to_sol(&ty, Some(param), arg).map_err(bad)
        })
        .collect()
}

/// Picks the function of `name` in `abi` that `args` fit: by arity first, then by which overload
/// accepts the values.
pub fn select_function<'a>(abi: &'a JsonAbi, name: &str, args: &[Value]) -> Result<&'a Function, AbiError> {
    let all: Vec<&Function> = abi.functions().filter(|f| f.name == name).collect();
    if all.is_empty() {
        let mut names: Vec<&str> = abi.functions().map(|f| f.name.as_str()).collect();
        names.dedup();
        return Err(AbiError::NoSuchFunction { name: name.to_owned(), available: names.join(", ") });
    }
    let same_arity: Vec<&Function> = all.iter().copied().filter(|f| f.inputs.len() == args.len()).collect();
    match same_arity.as_slice() {
        [] => Err(AbiError::WrongArgCount {
            function: all.iter().map(|f| f.signature()).collect::<Vec<_>>().join(" or "),
            expected: all[0].inputs.len(),
            got: args.len(),
        }),
        [only] => Ok(only),
        several => {
            let fitting: Vec<&Function> = several.iter().copied().filter(|f| arguments(f, args).is_ok()).collect();
            if let [only] = fitting.as_slice() {
                return Ok(only);
            }
            if fitting.is_empty() {
                return arguments(several[0], args).map(|_| several[0]);
            }
            // "0x" + 40 hex digits also parses as a uint: prefer the overload whose types the
            // values look like, and refuse to guess between equals.
            let best = fitting.iter().map(|f| natural_fits(f, args)).max().unwrap_or(0);
            let top: Vec<&Function> = fitting.into_iter().filter(|f| natural_fits(f, args) == best).collect();
            match top.as_slice() {
                [only] => Ok(only),
                many => Err(AbiError::Ambiguous {
                    name: name.to_owned(),
                    candidates: many.iter().map(|f| f.signature()).collect::<Vec<_>>().join(", "),
                }),
            }
        }
    }
}

/// How many arguments look like their parameter's type (an address-shaped string for an address,
/// digits for an integer, a boolean for a bool).
fn natural_fits(function: &Function, args: &[Value]) -> usize {
    function
        .inputs
        .iter()
        .zip(args)
        .filter(|(param, arg)| {
            let text = arg.as_str().unwrap_or_default();
            let address_like = text.len() == 42 && text.starts_with("0x");
            match param.ty.as_str() {
                "address" => address_like,
                ty if ty.starts_with("uint") || ty.starts_with("int") => {
                    arg.is_number() || (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                }
                "bool" => arg.is_boolean(),
                "string" => arg.is_string() && !address_like,
                _ => false,
            }
        })
        .count()
}

/// Decodes a call's return data as `function`'s outputs: one JSON value per output.
pub fn decode_output(function: &Function, data: &[u8]) -> Result<Vec<Value>, AbiError> {
    let outputs = || function.outputs.iter().map(|p| p.selector_type().into_owned()).collect::<Vec<_>>().join(",");
    check_depth(function).map_err(|reason| AbiError::Decode { outputs: outputs(), reason })?;
    let values =
        function.abi_decode_output(data).map_err(|e| AbiError::Decode { outputs: outputs(), reason: e.to_string() })?;
    Ok(values.iter().zip(&function.outputs).map(|(value, param)| sol_to_json(value, Some(param))).collect())
}

/// Converts a JSON value to a Solidity value of type `ty`. `param`, when known, names tuple
/// components so that a tuple may be given as an object.
pub fn json_to_sol(ty: &DynSolType, param: Option<&Param>, value: &Value) -> Result<DynSolValue, String> {
    match (ty, value) {
        (DynSolType::String, Value::String(text)) => Ok(DynSolValue::String(text.clone())),
        (DynSolType::Bool, Value::Bool(b)) => Ok(DynSolValue::Bool(*b)),
        (DynSolType::Array(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| json_to_sol(inner, param, item).map_err(|e| format!("item {i}: {e}")))
            .collect::<Result<_, _>>()
            .map(DynSolValue::Array),
        (DynSolType::FixedArray(inner, len), Value::Array(items)) => {
            if items.len() != *len {
                return Err(format!("expected {len} items, got {}", items.len()));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| json_to_sol(inner, param, item).map_err(|e| format!("item {i}: {e}")))
                .collect::<Result<_, _>>()
                .map(DynSolValue::FixedArray)
        }
        // With alloy's eip712 feature a named struct resolves to `CustomStruct`: the same tuple.
        (DynSolType::Tuple(types) | DynSolType::CustomStruct { tuple: types, .. }, Value::Array(items)) => {
            if items.len() != types.len() {
                return Err(format!("the tuple has {} fields, got {}", types.len(), items.len()));
            }
            types
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (ty, item))| {
                    json_to_sol(ty, component(param, i), item)
                        .map_err(|e| format!("field {}: {e}", field_name(param, i)))
                })
                .collect::<Result<_, _>>()
                .map(DynSolValue::Tuple)
        }
        (DynSolType::Tuple(types) | DynSolType::CustomStruct { tuple: types, .. }, Value::Object(fields)) => {
            let names: Vec<String> = (0..types.len()).map(|i| field_name(param, i)).collect();
            if let Some(unknown) = fields.keys().find(|key| !names.contains(key)) {
                return Err(format!("unknown field \"{unknown}\"; the fields are {}", names.join(", ")));
            }
            types
                .iter()
                .enumerate()
                .map(|(i, ty)| {
                    let name = &names[i];
                    let item = fields.get(name).ok_or_else(|| format!("missing field \"{name}\""))?;
                    json_to_sol(ty, component(param, i), item).map_err(|e| format!("field {name}: {e}"))
                })
                .collect::<Result<_, _>>()
                .map(DynSolValue::Tuple)
        }
        (_, Value::String(text)) => ty.coerce_str(text).map_err(|e| explain(ty, text, &e.to_string())),
        (DynSolType::Uint(_) | DynSolType::Int(_), Value::Number(number)) => {
            if number.is_f64() {
                return Err(format!(
                    "{number} is not an exact integer; give integers as decimal strings, like \"1500000\""
                ));
            }
            ty.coerce_str(&number.to_string()).map_err(|e| explain(ty, &number.to_string(), &e.to_string()))
        }
        (_, other) => Err(format!("expected {}, got {}", ty.sol_type_name(), json_kind(other))),
    }
}

/// A clearer message than the parser's for the common mistakes.
fn explain(ty: &DynSolType, text: &str, parser: &str) -> String {
    match ty {
        DynSolType::Address => format!("\"{text}\" is not an address (0x followed by 40 hex digits)"),
        DynSolType::Uint(bits) => format!(
            "\"{text}\" is not a uint{bits}: give a non-negative integer that fits in {bits} bits, as a decimal string"
        ),
        DynSolType::Int(bits) => format!("\"{text}\" is not an int{bits}"),
        DynSolType::FixedBytes(size) => {
            format!("\"{text}\" is not bytes{size} (0x followed by {} hex digits)", size * 2)
        }
        DynSolType::Bytes => format!("\"{text}\" is not hex bytes"),
        DynSolType::Bool => format!("\"{text}\" is not true or false"),
        _ => format!("\"{text}\" is not a {}: {parser}", ty.sol_type_name()),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn component(param: Option<&Param>, index: usize) -> Option<&Param> {
    param.and_then(|p| p.components.get(index))
}

fn field_name(param: Option<&Param>, index: usize) -> String {
    component(param, index).map(|c| c.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| index.to_string())
}

/// Converts a Solidity value to JSON: integers as decimal strings (exact), addresses checksummed,
/// bytes as 0x-hex, tuples as objects when `param` names every component and as arrays otherwise.
pub fn sol_to_json(value: &DynSolValue, param: Option<&Param>) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::FixedBytes(word, size) => Value::String(hex::encode_prefixed(&word[..*size])),
        DynSolValue::Address(address) => Value::String(address.to_checksum(None)),
        DynSolValue::Function(f) => Value::String(hex::encode_prefixed(f.as_slice())),
        DynSolValue::Bytes(bytes) => Value::String(hex::encode_prefixed(bytes)),
        DynSolValue::String(text) => Value::String(text.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            // An array's param describes its elements' components too.
            Value::Array(items.iter().map(|item| sol_to_json(item, param)).collect())
        }
        DynSolValue::Tuple(items) | DynSolValue::CustomStruct { tuple: items, .. } => {
            let named = param
                .is_some_and(|p| p.components.len() == items.len() && p.components.iter().all(|c| !c.name.is_empty()));
            if named {
                let mut map = Map::new();
                for (i, item) in items.iter().enumerate() {
                    map.insert(field_name(param, i), sol_to_json(item, component(param, i)));
                }
                Value::Object(map)
            } else {
                Value::Array(items.iter().enumerate().map(|(i, item)| sol_to_json(item, component(param, i))).collect())
            }
        }
        #[allow(unreachable_patterns)]
        other => Value::String(format!("{other:?}")),
    }
}

/// Why a call reverted, decoded from its revert data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevertReason {
    /// `error` (Error(string)), `panic` (Panic(uint256)), `custom` (a custom error of the ABI),
    /// `unknown` (a selector the ABI does not know) or `empty` (no data).
    pub kind: String,
    /// The error's name: `Error`, `Panic` or the custom error's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A one-line description: the reason string, the panic's meaning, or `Name(arg, …)`.
    pub message: String,
    /// The custom error's arguments, by name (or position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// The raw revert data, 0x-hex.
    pub data: String,
}

impl std::fmt::Display for RevertReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Decoded values as `(name, JSON)` pairs in their parameters' order, each named by its parameter
/// (a nameless one by its position) and converted with [`sol_to_json`].
pub fn named_values(values: &[DynSolValue], params: &[Param]) -> Vec<(String, Value)> {
    values
        .iter()
        .zip(params)
        .enumerate()
        .map(|(i, (value, param))| {
            let name = if param.name.is_empty() { i.to_string() } else { param.name.clone() };
            (name, sol_to_json(value, Some(param)))
        })
        .collect()
}

/// A log's arguments by name (indexed and not, in the event's order), or `None` when the log does
/// not fit `event`.
pub fn decode_event_args(event: &Event, log: &LogData) -> Option<Map<String, Value>> {
    let decoded = event.decode_log(log).ok()?;
    let (mut indexed, mut body) = (decoded.indexed.iter(), decoded.body.iter());
    let mut args = Map::new();
    for (i, input) in event.inputs.iter().enumerate() {
        let value = if input.indexed { indexed.next() } else { body.next() }?;
        let name = if input.name.is_empty() { i.to_string() } else { input.name.clone() };
        let param = Param {
            ty: input.ty.clone(),
            name: input.name.clone(),
            components: input.components.clone(),
            internal_type: input.internal_type.clone(),
        };
        args.insert(name, sol_to_json(value, Some(&param)));
    }
    Some(args)
}

/// Decodes revert data: `Error(string)`, `Panic(uint256)`, and custom errors of `abi` when given.
pub fn decode_revert(data: &[u8], abi: Option<&JsonAbi>) -> RevertReason {
    let raw = hex::encode_prefixed(data);
    let reason = |kind: &str, name: Option<&str>, message: String, args: Option<Value>| RevertReason {
        kind: kind.into(),
        name: name.map(str::to_owned),
        message,
        args,
        data: raw.clone(),
    };
    if data.is_empty() {
        return reason("empty", None, "reverted without a reason".into(), None);
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return reason("error", Some("Error"), revert.reason().to_owned(), None);
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        let meaning = panic.kind().map(|kind| kind.as_str()).unwrap_or("unknown panic code");
        return reason("panic", Some("Panic"), format!("panic 0x{:02x}: {meaning}", panic.code), None);
    }
    if data.len() >= 4
        && let Some(abi) = abi
    {
        let known = abi.errors().filter(|e| check_params(&e.inputs).is_ok());
        for error in known.filter(|e| e.selector().as_slice() == &data[..4]) {
            if let Ok(decoded) = error.decode_error(data) {
                let args = named_values(&decoded.body, &error.inputs);
                let shown: Vec<String> = args.iter().map(|(name, value)| format!("{name}: {}", plain(value))).collect();
                let message = format!("{}({})", error.name, shown.join(", "));
                let object: Map<String, Value> = args.into_iter().collect();
                return reason("custom", Some(&error.name), message, Some(Value::Object(object)));
            }
        }
    }
    let selector = hex::encode_prefixed(&data[..data.len().min(4)]);
    reason("unknown", None, format!("reverted with custom error {selector} (its ABI is unknown)"), None)
}

/// A JSON value without the quotes around strings, for one-line messages.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The JSON description of a function: signature, selector, inputs and outputs.
pub fn describe_function(function: &Function) -> Value {
    let params = |params: &[Param]| -> Vec<Value> {
        params.iter().map(|p| json!({ "name": p.name, "type": p.selector_type() })).collect()
    };
    json!({
        "signature": function.signature(),
        "selector": hex::encode_prefixed(function.selector()),
        "inputs": params(&function.inputs),
        "outputs": params(&function.outputs),
    })
}
