//! Safety checks on a transaction request and its simulation, shown before the person signs.
//!
//! Each check is a [`Rule`] with a stable id, a [`Level`] and a plain sentence. Rules are pure
//! functions of a [`RiskInput`]: the request, its [`SimulationReport`] and the [`Facts`] the
//! simulation engine gathered from the chain (code at the addresses involved, balances, history).
//! That keeps every rule testable without a node, and the engine the only place that does I/O.
//!
//! | id | level | fires when |
//! |---|---|---|
//! | `simulation-failed` | danger | the transaction reverts (or halts) in simulation |
//! | `insufficient-balance` | danger | it sends more than the sender holds (coin + fee, or the token) |
//! | `value-to-non-payable` | danger | coin sent to a contract that reverts only because of the coin |
//! | `recipient-is-token-contract` | danger | the recipient of a transfer is a token contract |
//! | `approval-spender-not-contract` | danger | an approval goes to an address without code |
//! | `no-slippage-protection` | danger | a swap's minimum output is 0 |
//! | `chain-mismatch` | danger | the request's chain is not the wallet's |
//! | `address-poisoning` | danger | the recipient looks like a labelled address or a past recipient (same first and last 4 hex digits) but is another one |
//! | `unlimited-approval` | warning | an approval lets the spender take any amount |
//! | `first-time-recipient` | warning | the sender never sent anything to the recipient before |
//! | `token-balance-mismatch` | warning | a token's events disagree with its balances |
//! | `simulation-limited` | warning | the node cannot simulate; asset changes come from calldata |
//! | `high-price-impact` | warning (danger above 10×) | a swap's price impact, or its priced value lost, is above a threshold ([`impact`]) |

pub mod impact;
mod rules;

use std::collections::HashMap;
use std::fmt;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

pub use rules::RULES;

use crate::simulation::calldata::{MinimumOutput, TokenCall};
use crate::simulation::{SimulationReport, SimulationRequest};

/// How serious a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Likely loss of funds or a failing transaction: the wallet request is held back unless the
    /// person insists.
    Danger,
    /// Worth a second look before signing.
    Warning,
    /// Good to know.
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Danger => "danger",
            Level::Warning => "warning",
            Level::Info => "info",
        })
    }
}

/// One finding, shown next to the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    /// The rule's id, stable: `unlimited-approval`.
    pub id: String,
    /// How serious it is.
    pub level: Level,
    /// A plain sentence for the person.
    pub message: String,
}

/// A safety check.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Its stable id.
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// Returns the sentence to show when the rule fires.
    pub check: fn(&RiskInput<'_>) -> Option<String>,
}

/// A token's symbol and decimals, as read from the chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenInfo {
    /// Its symbol, if it answers `symbol()`.
    pub symbol: Option<String>,
    /// Its decimals, if it answers `decimals()`.
    pub decimals: Option<u8>,
}

/// What the engine learned from the chain for the rules. `None` means "could not tell", and a
/// rule that needs an unknown fact does not fire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The native coin's symbol and decimals.
    pub native_symbol: String,
    /// The native coin's decimals.
    pub native_decimals: u8,
    /// The estimated fee in wei.
    pub fee: Option<U256>,
    /// Whether the called address has code.
    pub to_is_contract: Option<bool>,
    /// The sender's native balance before the transaction.
    pub sender_balance: Option<U256>,
    /// The calldata read as a token transfer or approval, if it is one.
    pub token_call: Option<TokenCall>,
    /// The called token's symbol and decimals, when the calldata is a token call.
    pub token: Option<TokenInfo>,
    /// The sender's balance of the called token, when the calldata is a token transfer.
    pub sender_token_balance: Option<U256>,
    /// Who receives the transfer: the `to` of a plain coin transfer, or the recipient argument
    /// of a token transfer.
    pub recipient: Option<Address>,
    /// Whether the recipient answers like a token contract (`decimals()`).
    pub recipient_is_token: Option<bool>,
    /// Whether the sender sent anything to the recipient before, within `history_blocks`.
    pub sent_before: Option<bool>,
    /// How many recent blocks the history check covered.
    pub history_blocks: u64,
    /// Everyone the sender sent tokens to within `history_blocks` (empty when unknown).
    pub past_recipients: Vec<Address>,
    /// The addresses the sender knows by name (global labels and the wallet's own).
    pub labels: HashMap<Address, String>,
    /// Whether the approval spenders and the recipient have code (an EIP-7702 delegation counts
    /// as no code: the account is still run by a key).
    pub has_code: HashMap<Address, bool>,
    /// For a failing transaction that sends coin to a contract: whether the same call without
    /// the coin succeeds.
    pub succeeds_without_value: Option<bool>,
    /// The minimum outputs of the swaps in the calldata.
    pub minimum_outputs: Vec<MinimumOutput>,
    /// Tokens whose balance reads disagree with their events: (symbol or address, holder).
    pub balance_mismatches: Vec<(String, Address)>,
    /// True when the node could not simulate and the report comes from `eth_call` and calldata.
    pub limited: bool,
}

/// What the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct RiskInput<'a> {
    /// The transaction request.
    pub request: &'a SimulationRequest,
    /// Its simulation (its `warnings` are not read).
    pub report: &'a SimulationReport,
    /// What the chain says about the parties.
    pub facts: &'a Facts,
}

/// Runs every rule; the warnings come most serious first, in the order of [`RULES`].
pub fn assess(input: &RiskInput<'_>) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = RULES
        .iter()
        .filter_map(|rule| {
            (rule.check)(input).map(|message| Warning { id: rule.id.to_owned(), level: rule.level, message })
        })
        .collect();
    warnings.sort_by_key(|w| w.level);
    warnings
}
