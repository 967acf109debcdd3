//! The [`SimulationReport`]: what a transaction would do, in exact integers.
//!
//! Every amount is a base-unit integer as a decimal string (signed for a balance change) next to the
//! token's decimals and symbol, read from the chain; the `formatted` texts are derived from those,
//! never the reverse.

use alloy::primitives::{Address, I256, U256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::risk::{Level, Warning};
use crate::units::format_units;

/// The result of simulating one transaction request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimulationReport {
    /// The chain simulated on.
    pub chain_id: u64,
    /// The block the transaction was simulated on top of, when known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub block_number: Option<u64>,
    /// How it was simulated: `eth_simulateV1`, or `eth_call` when the node cannot simulate (then
    /// the asset changes are read from the call data, not executed).
    pub method: String,
    /// True when the transaction would succeed.
    pub success: bool,
    /// Why it would fail, when it would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<Revert>,
    /// Gas the transaction would use, when known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub gas_used: Option<u64>,
    /// The network's gas price at simulation time, in wei (decimal string).
    pub gas_price: String,
    /// Gas used times gas price, in the native coin.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub estimated_fee: Option<Amount>,
    /// Balance changes per address and asset, the fee excluded.
    pub asset_changes: Vec<AssetChange>,
    /// Allowances and operators the transaction sets.
    pub approvals: Vec<Approval>,
    /// The transaction's logs, decoded where the event is known.
    pub logs: Vec<DecodedLog>,
    /// What the person should know before signing.
    pub warnings: Vec<Warning>,
}

/// Why a simulated transaction fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Revert {
    /// A plain sentence: the reason string, the panic's meaning, `Name(arg: value, …)` for a custom
    /// error, "ran out of gas", …
    pub reason: String,
    /// `error` (Error(string)), `panic`, `custom`, `unknown` (a custom error whose ABI is unknown),
    /// `empty` (no data), `out-of-gas`, `insufficient-funds`, or `rejected` (the node refused the
    /// transaction before running it).
    pub kind: String,
    /// The error's name (`Error`, `Panic`, or the custom error's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A custom error's arguments by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// The raw revert data, 0x-hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The kind of asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Standard {
    /// The network's native coin.
    Native,
    /// An ERC20 token (WETH included).
    Erc20,
    /// An ERC721 collectible.
    Erc721,
    /// An ERC1155 token.
    Erc1155,
}

/// An exact amount of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// Base units, as a decimal string.
    pub amount: String,
    /// The asset's decimals.
    pub decimals: u8,
    /// The asset's symbol.
    pub symbol: String,
    /// `amount` with its decimals and symbol: "0.000042 ETH".
    pub formatted: String,
}

impl Amount {
    /// An amount of `decimals` and `symbol`.
    pub fn new(amount: U256, decimals: u8, symbol: &str) -> Self {
        Amount {
            amount: amount.to_string(),
            decimals,
            symbol: symbol.to_owned(),
            formatted: format!("{} {symbol}", format_units(amount, decimals)),
        }
    }
}

/// How one address's balance of one asset changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssetChange {
    /// Whose balance.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub address: Address,
    /// The asset's contract; `null` for the native coin.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub token: Option<Address>,
    /// The kind of asset.
    pub standard: Standard,
    /// The token id (ERC721, ERC1155).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The asset's symbol, as the chain reports it (`null` when the contract has none).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub symbol: Option<String>,
    /// The asset's decimals, as the chain reports it (0 for ERC721 and ERC1155; `null` when an
    /// ERC20 does not answer `decimals()`).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decimals: Option<u8>,
    /// The change in base units, signed, as a decimal string.
    pub delta: String,
    /// The change for people: "-1.5 USDC", "+1 TCOL #7".
    pub formatted: String,
    /// The change in USD, when a price is known (set by the server after the simulation, beside
    /// the exact amount, never instead of it); absent when unpriced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<UsdValue>,
}

/// A value in US dollars, from a price read when the report was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsdValue {
    /// The value, signed like the change it prices (negative for an outgoing amount).
    pub value: f64,
    /// USD per whole token used.
    pub price: f64,
    /// Where the price comes from (`defillama`).
    pub source: String,
    /// A caveat (a devnet token priced as its mainnet namesake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AssetChange {
    /// The change as a signed integer.
    pub fn delta(&self) -> I256 {
        self.delta.parse().unwrap_or(I256::ZERO)
    }
}

/// Formats a signed base-unit amount with its decimals and symbol: "-1.5 USDC"; without decimals,
/// the base units themselves.
pub fn format_delta(delta: I256, decimals: Option<u8>, symbol: Option<&str>) -> String {
    let sign = if delta.is_negative() { "-" } else { "+" };
    let magnitude = delta.unsigned_abs();
    let symbol = symbol.filter(|s| !s.is_empty()).unwrap_or("(unknown token)");
    match decimals {
        Some(decimals) => format!("{sign}{} {symbol}", format_units(magnitude, decimals)),
        None => format!("{sign}{magnitude} base units of {symbol} (decimals unknown)"),
    }
}

/// An allowance or operator approval the transaction sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// The owner of the assets.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub owner: Address,
    /// The token contract.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub token: Address,
    /// The kind of token.
    pub standard: Standard,
    /// Who may move the assets.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub spender: Address,
    /// The allowance in base units (ERC20); `null` for an operator over every token, or a single
    /// ERC721 token approval.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub amount: Option<String>,
    /// The single ERC721 token approved, if that is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// True when the spender may move any amount: a huge allowance (at least 2^96 - 1, the
    /// values wallets use for "unlimited") or an operator approval over every token.
    pub unlimited: bool,
    /// False when the approval is revoked (allowance 0, operator removed).
    pub granted: bool,
    /// True for an operator approval over every token of the contract (`setApprovalForAll`),
    /// granted or removed; false for an allowance or a single token.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub operator: bool,
    /// The token's symbol.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub symbol: Option<String>,
    /// The token's decimals (ERC20).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decimals: Option<u8>,
    /// The approval for people: "100 USDC", "unlimited DAI", "every TCOL".
    pub formatted: String,
}

/// One log of the simulated transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DecodedLog {
    /// The emitting contract.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub address: Address,
    /// The event's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The event's signature, when known: `Transfer(address,address,uint256)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The decoded arguments by name, when known; integers as decimal strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// The raw topics.
    pub topics: Vec<String>,
    /// The raw data, 0x-hex.
    pub data: String,
}

impl SimulationReport {
    /// True when a warning of level danger is present.
    pub fn has_danger(&self) -> bool {
        self.warnings.iter().any(|w| w.level == Level::Danger)
    }

    /// A short summary for the model and for logs: outcome, asset changes, approvals, fee and
    /// warnings, in a few lines. Never the raw trace.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        match (&self.revert, self.success) {
            (_, true) => lines.push("Simulation: the transaction succeeds.".to_owned()),
            (Some(revert), false) => lines.push(format!("Simulation: the transaction FAILS: {}.", revert.reason)),
            (None, false) => lines.push("Simulation: the transaction FAILS.".to_owned()),
        }
        if !self.asset_changes.is_empty() {
            let changes: Vec<String> =
                self.asset_changes.iter().map(|c| format!("{} {}", short(&c.address), c.formatted)).collect();
            lines.push(format!("Balance changes: {}.", changes.join("; ")));
        } else if self.success {
            lines.push("No balance changes besides the fee.".to_owned());
        }
        for approval in &self.approvals {
            lines.push(format!(
                "Approval: {} lets {} spend {}.",
                short(&approval.owner),
                short(&approval.spender),
                approval.formatted
            ));
        }
        if let Some(fee) = &self.estimated_fee {
            lines.push(format!("Estimated fee: {}.", fee.formatted));
        }
        for warning in &self.warnings {
            lines.push(format!("[{}] {}: {}", warning.level, warning.id, warning.message));
        }
        lines.join("\n")
    }
}

/// An address shortened for a sentence people read: `0x1234…abcd` (checksum case). Tool summaries
/// and simulation warnings use this one form.
pub fn short(address: &Address) -> String {
    let text = address.to_checksum(None);
    format!("{}…{}", &text[..6], &text[text.len() - 4..])
}
