//! What a piece of typed data is, when aomi knows its kind: recognised by its primary type *and*
//! the fields of that type (a struct merely named `Permit` with other fields is not a permit), and
//! read into [`Decoded`]: who may spend or receive, which tokens, how much, until when.
//!
//! | kind | primary type | what signing it does |
//! |---|---|---|
//! | EIP-2612 | `Permit` | lets `spender` take `value` of the token (the verifying contract) |
//! | Permit2 | `PermitSingle`, `PermitBatch` | lets `spender` take `amount` of each token until `expiration` |
//! | Permit2 | `PermitTransferFrom`, `PermitBatchTransferFrom` (and `…Witness…`) | lets `spender` move the tokens once, now |
//! | EIP-3009 | `TransferWithAuthorization`, `ReceiveWithAuthorization` | moves `value` of the token from `from` to `to` |
//! | Seaport | `OrderComponents` | an order: the offer is given for the consideration |

use alloy::primitives::{Address, U256};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{json_address, json_uint};

/// The kinds of typed data aomi decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PermitKind {
    /// EIP-2612 `Permit`: an allowance on the token itself.
    Permit,
    /// Permit2 `PermitSingle`: an allowance through Permit2.
    Permit2Single,
    /// Permit2 `PermitBatch`: allowances on several tokens through Permit2.
    Permit2Batch,
    /// Permit2 `PermitTransferFrom` (or its witness form): one transfer, by signature.
    Permit2Transfer,
    /// Permit2 `PermitBatchTransferFrom` (or its witness form): several transfers, by signature.
    Permit2BatchTransfer,
    /// EIP-3009 `TransferWithAuthorization`.
    TransferWithAuthorization,
    /// EIP-3009 `ReceiveWithAuthorization`.
    ReceiveWithAuthorization,
    /// A Seaport `OrderComponents`.
    SeaportOrder,
}

impl PermitKind {
    /// A title for the review.
    pub fn title(self) -> &'static str {
        match self {
            PermitKind::Permit => "Token permit (EIP-2612)",
            PermitKind::Permit2Single => "Permit2 allowance",
            PermitKind::Permit2Batch => "Permit2 allowances",
            PermitKind::Permit2Transfer => "Permit2 transfer",
            PermitKind::Permit2BatchTransfer => "Permit2 transfers",
            PermitKind::TransferWithAuthorization => "Token transfer by signature (EIP-3009)",
            PermitKind::ReceiveWithAuthorization => "Token transfer by signature (EIP-3009, receive)",
            PermitKind::SeaportOrder => "Seaport order",
        }
    }

    /// True for a standing allowance (the spender may take up to the amount until it expires).
    pub fn is_allowance(self) -> bool {
        matches!(self, PermitKind::Permit | PermitKind::Permit2Single | PermitKind::Permit2Batch)
    }

    /// True when the signature itself moves assets once it is submitted.
    pub fn moves_assets(self) -> bool {
        !self.is_allowance()
    }

    /// True for the kinds whose verifying contract must be Permit2.
    pub fn is_permit2(self) -> bool {
        matches!(
            self,
            PermitKind::Permit2Single
                | PermitKind::Permit2Batch
                | PermitKind::Permit2Transfer
                | PermitKind::Permit2BatchTransfer
        )
    }
}

/// What kind of asset an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// The chain's coin.
    Native,
    /// An ERC-20 token.
    Erc20,
    /// An ERC-721 token (one id).
    Erc721,
    /// An ERC-1155 token.
    Erc1155,
    /// Any ERC-721 of a collection matching a criteria.
    Erc721Criteria,
    /// Any ERC-1155 of a collection matching a criteria.
    Erc1155Criteria,
}

/// One asset a signature allows, moves or asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The token (zero for the native coin).
    pub token: Address,
    /// The amount in base units.
    pub amount: U256,
    /// True when the amount is the type's maximum: no limit.
    pub unlimited: bool,
    /// The asset's kind.
    pub kind: ItemKind,
    /// The token id (ERC-721, ERC-1155) or criteria.
    pub token_id: Option<U256>,
    /// Who receives it (a Seaport consideration item).
    pub recipient: Option<Address>,
}

impl Item {
    fn erc20(token: Address, amount: U256, max: U256) -> Self {
        Item { token, amount, unlimited: amount >= max, kind: ItemKind::Erc20, token_id: None, recipient: None }
    }
}

/// Typed data of a kind aomi knows, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Its kind.
    pub kind: PermitKind,
    /// Whose assets: the permit's owner, the transfer's sender, the order's offerer (not in
    /// Permit2 messages: the signer).
    pub owner: Option<Address>,
    /// Who may take them: the spender (the recipient of an EIP-3009 transfer).
    pub spender: Option<Address>,
    /// Where they go, when the signature says (EIP-3009's `to`).
    pub recipient: Option<Address>,
    /// What the owner allows or gives.
    pub given: Vec<Item>,
    /// What the owner gets back (a Seaport order's consideration to the offerer).
    pub received: Vec<Item>,
    /// When the allowance ends (Permit2 `expiration`), in seconds since 1970.
    pub expiry: Option<U256>,
    /// Until when the signature can be used (`deadline`, `sigDeadline`, `validBefore`, a Seaport
    /// order's `endTime`).
    pub deadline: Option<U256>,
    /// The token of an EIP-2612 or EIP-3009 signature: the verifying contract.
    pub token: Option<Address>,
}

/// The largest Permit2 amount (`uint160`).
fn max_u160() -> U256 {
    (U256::from(1) << 160) - U256::from(1)
}

/// The largest Permit2 expiration (`uint48`): never.
pub fn max_u48() -> U256 {
    (U256::from(1) << 48) - U256::from(1)
}

/// The field names of struct `kind`.
fn fields<'a>(types: &'a Map<String, Value>, kind: &str) -> Vec<&'a str> {
    types
        .get(kind)
        .and_then(Value::as_array)
        .map(|fields| fields.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default()
}

/// The type of field `name` of struct `kind`.
fn field_type<'a>(types: &'a Map<String, Value>, kind: &str, name: &str) -> Option<&'a str> {
    types.get(kind)?.as_array()?.iter().find(|f| f["name"] == name)?["type"].as_str()
}

fn has_all(types: &Map<String, Value>, kind: &str, wanted: &[&str]) -> bool {
    let have = fields(types, kind);
    wanted.iter().all(|w| have.contains(w))
}

/// Reads checked typed data (`{domain, types, primaryType, message}`, see
/// [`super::parse_typed_data`]) as a kind aomi knows; `None` for anything else.
pub fn decode(json: &Value) -> Option<Decoded> {
    let types = json["types"].as_object()?;
    let primary = json["primaryType"].as_str()?;
    let message = &json["message"];
    let verifying = json_address(&json["domain"]["verifyingContract"]);
    let uint = |key: &str| json_uint(&message[key]);
    let addr = |key: &str| json_address(&message[key]);
    let empty = || Decoded {
        kind: PermitKind::Permit,
        owner: None,
        spender: None,
        recipient: None,
        given: Vec::new(),
        received: Vec::new(),
        expiry: None,
        deadline: None,
        token: None,
    };
    match primary {
        "Permit" if has_all(types, primary, &["owner", "spender", "value", "nonce", "deadline"]) => {
            let token = verifying?;
            Some(Decoded {
                owner: addr("owner"),
                spender: addr("spender"),
                given: vec![Item::erc20(token, uint("value")?, U256::MAX)],
                deadline: uint("deadline"),
                token: Some(token),
                ..empty()
            })
        }
        "PermitSingle" | "PermitBatch" if has_all(types, primary, &["details", "spender", "sigDeadline"]) => {
            let details_type = field_type(types, primary, "details")?;
            let (base, _) = super::tree::split_array(details_type);
            if !has_all(types, base, &["token", "amount", "expiration", "nonce"]) {
                return None;
            }
            let details: Vec<&Value> = match &message["details"] {
                Value::Array(items) => items.iter().collect(),
                one @ Value::Object(_) => vec![one],
                _ => return None,
            };
            let given = details
                .iter()
                .map(|d| Some(Item::erc20(json_address(&d["token"])?, json_uint(&d["amount"])?, max_u160())))
                .collect::<Option<Vec<_>>>()?;
            // The allowance ends at the earliest expiration among the tokens.
            let expiry = details.iter().filter_map(|d| json_uint(&d["expiration"])).min();
            let kind = if primary == "PermitSingle" { PermitKind::Permit2Single } else { PermitKind::Permit2Batch };
            Some(Decoded { kind, spender: addr("spender"), given, expiry, deadline: uint("sigDeadline"), ..empty() })
        }
        "PermitTransferFrom"
        | "PermitBatchTransferFrom"
        | "PermitWitnessTransferFrom"
        | "PermitBatchWitnessTransferFrom"
            if has_all(types, primary, &["permitted", "spender", "nonce", "deadline"]) =>
        {
            let permitted_type = field_type(types, primary, "permitted")?;
            let (base, batch) = super::tree::split_array(permitted_type);
            if !has_all(types, base, &["token", "amount"]) {
                return None;
            }
            let permitted: Vec<&Value> = match &message["permitted"] {
                Value::Array(items) => items.iter().collect(),
                one @ Value::Object(_) => vec![one],
                _ => return None,
            };
            let given = permitted
                .iter()
                .map(|p| Some(Item::erc20(json_address(&p["token"])?, json_uint(&p["amount"])?, max_u160())))
                .collect::<Option<Vec<_>>>()?;
            let kind = if batch { PermitKind::Permit2BatchTransfer } else { PermitKind::Permit2Transfer };
            Some(Decoded { kind, spender: addr("spender"), given, deadline: uint("deadline"), ..empty() })
        }
        "TransferWithAuthorization" | "ReceiveWithAuthorization"
            if has_all(types, primary, &["from", "to", "value", "validAfter", "validBefore", "nonce"]) =>
        {
            let token = verifying?;
            let kind = if primary == "TransferWithAuthorization" {
                PermitKind::TransferWithAuthorization
            } else {
                PermitKind::ReceiveWithAuthorization
            };
            let to = addr("to");
            Some(Decoded {
                kind,
                owner: addr("from"),
                // Whoever holds a TransferWithAuthorization can submit it; the tokens go to `to`.
                spender: to,
                recipient: to,
                given: vec![Item::erc20(token, uint("value")?, U256::MAX)],
                deadline: uint("validBefore"),
                token: Some(token),
                ..empty()
            })
        }
        "OrderComponents"
            if has_all(types, primary, &["offerer", "offer", "consideration", "startTime", "endTime", "counter"]) =>
        {
            let offerer = addr("offerer")?;
            let item = |value: &Value| -> Option<Item> {
                let kind = match u64::try_from(json_uint(&value["itemType"])?).ok()? {
                    0 => ItemKind::Native,
                    1 => ItemKind::Erc20,
                    2 => ItemKind::Erc721,
                    3 => ItemKind::Erc1155,
                    4 => ItemKind::Erc721Criteria,
                    5 => ItemKind::Erc1155Criteria,
                    _ => return None,
                };
                let start = json_uint(&value["startAmount"])?;
                let end = json_uint(&value["endAmount"])?;
                Some(Item {
                    token: json_address(&value["token"])?,
                    // The most the offerer may give over the order's life.
                    amount: start.max(end),
                    unlimited: false,
                    kind,
                    token_id: json_uint(&value["identifierOrCriteria"]),
                    recipient: json_address(&value["recipient"]),
                })
            };
            let given = message["offer"].as_array()?.iter().map(item).collect::<Option<Vec<_>>>()?;
            let consideration = message["consideration"].as_array()?.iter().map(item).collect::<Option<Vec<_>>>()?;
            let received = consideration.into_iter().filter(|i| i.recipient == Some(offerer)).collect();
            Some(Decoded {
                kind: PermitKind::SeaportOrder,
                owner: Some(offerer),
                given,
                received,
                deadline: uint("endTime"),
                ..empty()
            })
        }
        _ => None,
    }
}
