//! Signature requests: EIP-712 typed data and personal messages, validated, hashed, decoded and
//! checked before a wallet is asked to sign them.
//!
//! - [`parse_typed_data`] checks typed data fully (sizes, the domain, every type, the message
//!   against its types) and computes the EIP-712 signing hash with alloy, so what the review
//!   shows is what the wallet signs; [`parse_message`] does the same for an EIP-191 personal
//!   message (text, or `0x` hex of bytes).
//! - [`decode`] recognises what the typed data is: an EIP-2612 `Permit`, a Permit2 allowance
//!   (`PermitSingle`, `PermitBatch`) or transfer (`PermitTransferFrom`, its batch and witness
//!   forms), an EIP-3009 authorization, a Seaport order; anything else is shown as a tree
//!   ([`tree`]).
//! - [`rules`] are the signature's safety checks, in the shape of the transaction rules
//!   ([`crate::risk`]): an id, a level and a sentence.
//! - [`review`] reads what the rules need from the chain (code at the spender, the verifying
//!   contract's `DOMAIN_SEPARATOR()`, each token's symbol and decimals) and builds the
//!   [`SignatureReview`] the page shows.

pub mod decode;
mod review;
pub mod rules;
pub mod tree;

use alloy::dyn_abi::TypedData;
use alloy::primitives::{Address, B256, U256, eip191_hash_message, hex};
use serde_json::{Map, Value};

pub use decode::{Decoded, Item, ItemKind, PermitKind, decode};
pub use review::{
    DecodedView, DomainView, Expiry, ReviewOptions, SignatureKind, SignatureReview, TokenAmount, review_message,
    review_typed_data,
};
pub use rules::{SIGNATURE_RULES, SignatureFacts, SignatureInput, SignatureRule, assess};
pub use tree::TreeNode;

/// Permit2's address, the same on every chain it is deployed on (CREATE2).
pub const PERMIT2: Address = alloy::primitives::address!("000000000022D473030F116dDEE9F6B43aC78BA3");

/// How large a signature request may be, and when a permit counts as long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningLimits {
    /// Bytes of the typed data as JSON, or of a personal message.
    pub max_bytes: usize,
    /// How deep structs may nest in typed data (the primary type is depth 1).
    pub max_depth: usize,
    /// A permit whose allowance or signature lasts longer than this, in seconds, is flagged.
    pub long_permit_secs: u64,
}

/// Default [`SigningLimits::max_bytes`]: 32 KiB (a Seaport order of a few dozen items).
pub const DEFAULT_MAX_BYTES: usize = 32 * 1024;
/// Default [`SigningLimits::max_depth`].
pub const DEFAULT_MAX_DEPTH: usize = 8;
/// Default [`SigningLimits::long_permit_secs`]: 30 days.
pub const DEFAULT_LONG_PERMIT_SECS: u64 = 30 * 24 * 3600;

impl Default for SigningLimits {
    fn default() -> Self {
        SigningLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            long_permit_secs: DEFAULT_LONG_PERMIT_SECS,
        }
    }
}

/// Why a signature request is refused before anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// Larger than [`SigningLimits::max_bytes`].
    #[error("the {what} is {bytes} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Structs nest deeper than [`SigningLimits::max_depth`].
    #[error("the typed data nests structs {depth} deep, more than the limit of {limit}")]
    TooDeep {
        /// How deep.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The domain is malformed.
    #[error("the EIP-712 domain is invalid: {0}")]
    Domain(String),
    /// The types or the message are malformed, or the message does not fit its types.
    #[error("the typed data is invalid: {0}")]
    Invalid(String),
    /// The personal message is empty or malformed.
    #[error("the message is invalid: {0}")]
    Message(String),
}

/// Typed data that passed every check, with its signing hash.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedTypedData {
    /// The typed data, parsed by alloy.
    pub typed: TypedData,
    /// The typed data as the wallet receives it (`eth_signTypedData_v4`): the domain in canonical
    /// form (`chainId` a number), the types with `EIP712Domain` matching the domain, the message
    /// as given.
    pub json: Value,
    /// The EIP-712 signing hash: what the wallet signs.
    pub signing_hash: B256,
    /// The domain's chain id, when it has one.
    pub chain_id: Option<u64>,
}

/// A personal message that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMessage {
    /// The bytes signed.
    pub bytes: Vec<u8>,
    /// The message as text: itself, or its bytes when they are UTF-8; `None` for other bytes.
    pub text: Option<String>,
    /// True when it was given as `0x` hex.
    pub hex: bool,
    /// The EIP-191 hash the wallet signs.
    pub signing_hash: B256,
}

/// The fields of `EIP712Domain`, in the order wallets list them.
const DOMAIN_FIELDS: [(&str, &str); 5] = [
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
];

/// Checks typed data given as its four parts and computes its signing hash. `types` may list
/// `EIP712Domain`; when it does, it must list exactly the domain's fields, in canonical order
/// (wallets derive the domain type from the domain, so anything else would sign another hash).
pub fn parse_typed_data(
    domain: &Value,
    types: &Value,
    primary_type: &str,
    message: &Value,
    limits: &SigningLimits,
) -> Result<CheckedTypedData, SigningError> {
    let size = [domain, types, message].iter().map(|v| v.to_string().len()).sum::<usize>() + primary_type.len();
    if size > limits.max_bytes {
        return Err(SigningError::TooLarge { what: "typed data", bytes: size, limit: limits.max_bytes });
    }
    let (domain, chain_id) = canonical_domain(domain)?;
    let Value::Object(type_map) = types else {
        return Err(SigningError::Invalid("\"types\" must be an object of struct name → list of {name, type}".into()));
    };
    let domain_type: Vec<Value> = DOMAIN_FIELDS
        .iter()
        .filter(|(name, _)| domain.contains_key(*name))
        .map(|(name, kind)| serde_json::json!({ "name": name, "type": kind }))
        .collect();
    if let Some(given) = type_map.get("EIP712Domain")
        && given != &Value::Array(domain_type.clone())
    {
        return Err(SigningError::Domain(format!(
            "types.EIP712Domain must list the domain's fields in order ({}), got {given}",
            domain_type.iter().filter_map(|f| f["name"].as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let primary_type = primary_type.trim();
    if primary_type == "EIP712Domain" || !type_map.contains_key(primary_type) {
        return Err(SigningError::Invalid(format!(
            "primaryType \"{primary_type}\" must name one of the structs in \"types\" (not EIP712Domain)"
        )));
    }
    for (name, fields) in type_map {
        let ok = fields.as_array().is_some_and(|fields| {
            fields.iter().all(|f| {
                f.as_object().is_some_and(|f| {
                    f.len() == 2
                        && f.get("name").is_some_and(Value::is_string)
                        && f.get("type").is_some_and(Value::is_string)
                })
            })
        });
        if !ok {
            return Err(SigningError::Invalid(format!(
                "types.{name} must be a list of {{\"name\": …, \"type\": …}} objects"
            )));
        }
    }
    let depth = tree::depth(type_map, primary_type, 0, limits.max_depth + 1);
    if depth > limits.max_depth {
        return Err(SigningError::TooDeep { depth, limit: limits.max_depth });
    }
    let mut types = type_map.clone();
    types.insert("EIP712Domain".into(), Value::Array(domain_type));
    let json = serde_json::json!({
        "domain": Value::Object(domain),
        "types": Value::Object(types),
        "primaryType": primary_type,
        "message": message,
    });
    let typed: TypedData = serde_json::from_value(json.clone()).map_err(|e| SigningError::Invalid(e.to_string()))?;
    if !message.is_object() {
        return Err(SigningError::Invalid("\"message\" must be an object of the primary type's fields".into()));
    }
    // The message's fields must be exactly the type's: a field the type lacks would be shown but not signed.
    check_fields(type_map, primary_type, message)?;
    let signing_hash = typed.eip712_signing_hash().map_err(|e| SigningError::Invalid(e.to_string()))?;
    Ok(CheckedTypedData { typed, json, signing_hash, chain_id })
}

/// The domain with only the EIP-712 fields, `chainId` a JSON number, `verifyingContract` an
/// address and `salt` 32 bytes.
fn canonical_domain(domain: &Value) -> Result<(Map<String, Value>, Option<u64>), SigningError> {
    let Value::Object(fields) = domain else {
        return Err(SigningError::Domain("\"domain\" must be an object".into()));
    };
    let mut out = Map::new();
    let mut chain_id = None;
    for (key, value) in fields {
        let value = match key.as_str() {
            "name" | "version" => match value {
                Value::String(text) if !text.is_empty() => value.clone(),
                _ => return Err(SigningError::Domain(format!("{key} must be a non-empty string"))),
            },
            "chainId" => {
                let id = json_uint(value)
                    .and_then(|v| u64::try_from(v).ok())
                    .filter(|id| *id > 0)
                    .ok_or_else(|| SigningError::Domain(format!("chainId must be a chain id, got {value}")))?;
                chain_id = Some(id);
                Value::from(id)
            }
            "verifyingContract" => {
                let address = value.as_str().and_then(|text| text.parse::<Address>().ok()).ok_or_else(|| {
                    SigningError::Domain(format!("verifyingContract must be an address, got {value}"))
                })?;
                Value::String(address.to_checksum(None))
            }
            "salt" => {
                let salt = value
                    .as_str()
                    .and_then(|text| text.parse::<B256>().ok())
                    .ok_or_else(|| SigningError::Domain(format!("salt must be 32 bytes of hex, got {value}")))?;
                Value::String(salt.to_string())
            }
            other => {
                return Err(SigningError::Domain(format!(
                    "unknown field \"{other}\" (EIP-712 domains have name, version, chainId, verifyingContract, salt)"
                )));
            }
        };
        out.insert(key.clone(), value);
    }
    Ok((out, chain_id))
}

/// Checks that every struct in `value` has exactly the fields of its type.
fn check_fields(types: &Map<String, Value>, kind: &str, value: &Value) -> Result<(), SigningError> {
    let (base, array) = tree::split_array(kind);
    if array {
        for item in value.as_array().into_iter().flatten() {
            check_fields(types, base, item)?;
        }
        return Ok(());
    }
    let Some(fields) = types.get(base).and_then(Value::as_array) else { return Ok(()) };
    let Some(object) = value.as_object() else {
        return Err(SigningError::Invalid(format!("a {base} must be an object, got {value}")));
    };
    for key in object.keys() {
        if !fields.iter().any(|f| f["name"] == key.as_str()) {
            return Err(SigningError::Invalid(format!("{base} has no field \"{key}\"")));
        }
    }
    for field in fields {
        let (Some(name), Some(kind)) = (field["name"].as_str(), field["type"].as_str()) else { continue };
        let Some(inner) = object.get(name) else {
            return Err(SigningError::Invalid(format!("{base}.{name} is missing")));
        };
        check_fields(types, kind, inner)?;
    }
    Ok(())
}

/// Checks a personal message: `0x` hex is the bytes signed; anything else is UTF-8 text.
pub fn parse_message(message: &str, limits: &SigningLimits) -> Result<CheckedMessage, SigningError> {
    if message.is_empty() {
        return Err(SigningError::Message("it is empty".into()));
    }
    let is_hex = message.len() > 2 && message.starts_with("0x") && message[2..].bytes().all(|b| b.is_ascii_hexdigit());
    let bytes = if is_hex {
        hex::decode(message).map_err(|_| SigningError::Message("0x hex must have an even number of digits".into()))?
    } else {
        message.as_bytes().to_vec()
    };
    if bytes.len() > limits.max_bytes {
        return Err(SigningError::TooLarge { what: "message", bytes: bytes.len(), limit: limits.max_bytes });
    }
    let text =
        String::from_utf8(bytes.clone()).ok().filter(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace()));
    let signing_hash = eip191_hash_message(&bytes);
    Ok(CheckedMessage { bytes, text, hex: is_hex, signing_hash })
}

/// An unsigned integer in JSON: a number, a decimal string or `0x` hex.
pub(crate) fn json_uint(value: &Value) -> Option<U256> {
    match value {
        Value::Number(n) => n.as_u64().map(U256::from),
        Value::String(text) => {
            let text = text.trim();
            match text.strip_prefix("0x") {
                Some(digits) => U256::from_str_radix(digits, 16).ok(),
                None => U256::from_str_radix(text, 10).ok(),
            }
        }
        _ => None,
    }
}

/// An address in JSON.
pub(crate) fn json_address(value: &Value) -> Option<Address> {
    value.as_str().and_then(|text| text.trim().parse().ok())
}
