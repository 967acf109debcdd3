//! Wallet intents: one transfer, approval or swap read out of a user's message, and the tool calls
//! that carry it out.
//!
//! [`WalletIntent`] is the typed answer of a subroutine on the utility model (aomi-agent's intent
//! fast path asks it). [`IntentResolver::plan`] checks it against the chat's network and turns it
//! into the very calls the full loop's model would make: `send_transaction_to_wallet` with
//! `transfer`/`approve` calldata (or a plain value for the network's coin), or `stage_swap` then
//! `send_batch_to_wallet`. The tools themselves then validate, simulate and guard the request as
//! they do for the model.
//!
//! The resolution is strict on purpose, because no main model looks at the result: a token is the
//! network's coin or exactly one listed token by its exact symbol or address (no partial names), an
//! amount is a positive decimal in whole units, a recipient or spender is a `0x` address. Anything
//! else is an [`IntentError`], and the turn goes to the main model instead.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::short_address;
use aomi_chain::units::{format_units, parse_units};
use aomi_core::TypedTool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chain::{SendArgs, SimulateBeforeSend};
use crate::defi::{Asset, QuoteArgs, SendBatchArgs, SendBatchToWallet, StageSwap};

/// One wallet action read out of one user message, or none.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum WalletIntent {
    /// Send an amount of a token (or of the network's coin) to an address.
    Transfer {
        /// the token's symbol (USDC, ETH) or 0x address, exactly as the user wrote it
        token: String,
        /// the amount in whole units as the user wrote it, a decimal string ("500", "0.25")
        amount: String,
        /// the recipient's 0x address, exactly as the user wrote it
        to: String,
    },
    /// Allow a spender to spend an amount of a token.
    Approve {
        /// the token's symbol or 0x address, exactly as the user wrote it
        token: String,
        /// the spender's 0x address, exactly as the user wrote it
        spender: String,
        /// the amount in whole units as the user wrote it, a decimal string
        amount: String,
    },
    /// Sell an amount of one asset for another.
    Swap {
        /// the asset sold: its symbol or 0x address
        sell: String,
        /// the asset bought: its symbol or 0x address
        buy: String,
        /// the amount sold, in whole units, a decimal string
        amount: String,
    },
    /// Anything else: a question, several actions, or an action with a field missing, unclear or
    /// only implied by earlier messages.
    None,
}

/// A tool call an intent resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentCall {
    /// The tool's name.
    pub tool: &'static str,
    /// Its arguments, as the model would write them.
    pub arguments: Value,
}

impl IntentCall {
    /// A call of the tool `T` with `arguments`, written as a model would write them: the tool's
    /// own name and argument type, so a renamed tool or field cannot drift from the intent's calls.
    fn of<T: TypedTool>(arguments: &T::Args) -> Self
    where
        T::Args: Serialize,
    {
        // Plain strings, lists and JSON values: serialising them cannot fail.
        IntentCall { tool: T::NAME, arguments: serde_json::to_value(arguments).unwrap_or_default() }
    }
}

/// What an intent resolves to: calls run one after another (each needs the one before), and a
/// sentence for the user on what is being prepared.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentPlan {
    /// The calls, in order; the last one is the wallet request.
    pub calls: Vec<IntentCall>,
    /// What is being prepared, for the user (streamed before the calls).
    pub summary: String,
}

/// Why an intent is left to the main model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    /// The message holds no single, complete wallet action.
    #[error("the message holds no single, complete wallet action")]
    NoAction,
    /// The chat's network could not be found.
    #[error("the chat's network is unknown: {0}")]
    Network(String),
    /// The token is not the network's coin nor exactly one listed token.
    #[error("\"{0}\" is not exactly one known token on this network")]
    UnknownToken(String),
    /// The amount is not a positive decimal number the token's decimals can hold.
    #[error("\"{0}\" is not a positive amount of the token")]
    BadAmount(String),
    /// A recipient or spender that is not a valid `0x` address.
    #[error("\"{0}\" is not a valid 0x address")]
    BadAddress(String),
    /// An approval of the network's coin, which has no allowance.
    #[error("the network's coin cannot be approved")]
    NativeApproval,
    /// A swap of an asset for itself.
    #[error("a swap needs two different assets")]
    SameAsset,
}

/// Resolves intents on each chat's network.
#[derive(Debug, Clone)]
pub struct IntentResolver(pub Arc<ChainSessions>);

impl IntentResolver {
    /// The calls that carry `intent` out in `chat_id`'s chat, on its network; no I/O.
    pub fn plan(&self, intent: &WalletIntent, chat_id: &str) -> Result<IntentPlan, IntentError> {
        let conn = self.0.connection(chat_id, None).map_err(|e| IntentError::Network(e.to_string()))?;
        let network = &conn.network;
        match intent {
            WalletIntent::None => Err(IntentError::NoAction),
            WalletIntent::Transfer { token, amount, to } => {
                let asset = self.asset(network, token)?;
                let units = amount_of(amount, &asset)?;
                let to = address(to)?;
                let what = format!("{} {}", format_units(units, asset.decimals), asset.symbol);
                let description = format!("Send {what} to {to}");
                let arguments = match asset.address {
                    None => SendArgs {
                        to: to.to_string(),
                        value: Some(units.to_string().into()),
                        description,
                        ..SendArgs::default()
                    },
                    Some(token) => SendArgs {
                        to: token.to_string(),
                        signature: Some("transfer(address,uint256)".into()),
                        args: vec![to.to_string().into(), units.to_string().into()],
                        description,
                        ..SendArgs::default()
                    },
                };
                Ok(IntentPlan {
                    calls: vec![IntentCall::of::<SimulateBeforeSend>(&arguments)],
                    summary: format!(
                        "Preparing the transfer of {what} to {} on {}; your wallet shows it for review once it is simulated.",
                        short_address(&to),
                        network.name
                    ),
                })
            }
            WalletIntent::Approve { token, spender, amount } => {
                let asset = self.asset(network, token)?;
                let Some(token) = asset.address else { return Err(IntentError::NativeApproval) };
                let units = amount_of(amount, &asset)?;
                let spender = address(spender)?;
                let what = format!("{} {}", format_units(units, asset.decimals), asset.symbol);
                let arguments = SendArgs {
                    to: token.to_string(),
                    signature: Some("approve(address,uint256)".into()),
                    args: vec![spender.to_string().into(), units.to_string().into()],
                    description: format!("Approve {spender} to spend {what}"),
                    ..SendArgs::default()
                };
                Ok(IntentPlan {
                    calls: vec![IntentCall::of::<SimulateBeforeSend>(&arguments)],
                    summary: format!(
                        "Preparing an approval for {} to spend {what} on {}; your wallet shows it for review once it is simulated.",
                        short_address(&spender),
                        network.name
                    ),
                })
            }
            WalletIntent::Swap { sell, buy, amount } => {
                let (sold, bought) = (self.asset(network, sell)?, self.asset(network, buy)?);
                if sold == bought {
                    return Err(IntentError::SameAsset);
                }
                let units = amount_of(amount, &sold)?;
                let what = format!("{} {} for {}", format_units(units, sold.decimals), sold.symbol, bought.symbol);
                // The tool takes whole units and resolves the assets itself, as the model calls it.
                let stage = QuoteArgs {
                    sell: asset_argument(&sold),
                    buy: asset_argument(&bought),
                    amount: format_units(units, sold.decimals),
                    ..QuoteArgs::default()
                };
                let send = SendBatchArgs { description: format!("Swap {what}") };
                Ok(IntentPlan {
                    calls: vec![IntentCall::of::<StageSwap>(&stage), IntentCall::of::<SendBatchToWallet>(&send)],
                    summary: format!(
                        "Preparing the swap of {what} on {}, staged and sent to your wallet as one batch once it is simulated.",
                        network.name
                    ),
                })
            }
        }
    }

    /// The network's coin by symbol or name, or exactly one listed token by exact symbol or address.
    fn asset(&self, network: &aomi_chain::Network, input: &str) -> Result<Asset, IntentError> {
        let text = input.trim();
        let native = &network.native;
        if text.eq_ignore_ascii_case(&native.symbol) || text.eq_ignore_ascii_case(&native.name) {
            return Ok(Asset { symbol: native.symbol.clone(), address: None, decimals: native.decimals });
        }
        let unknown = || IntentError::UnknownToken(text.to_owned());
        let markets = self.0.markets();
        let entry = if text.starts_with("0x") {
            let address = aomi_core::Address::parse(text).map_err(|_| IntentError::BadAddress(text.to_owned()))?;
            markets.by_address(network.chain_id, address.into_alloy()).ok_or_else(unknown)?
        } else {
            // Only an exact symbol: a partial name could mean another token than the user's.
            let found = markets.find(network.chain_id, text);
            let mut exact = found.into_iter().filter(|t| t.symbol.eq_ignore_ascii_case(text));
            match (exact.next(), exact.next()) {
                (Some(one), None) => one,
                _ => return Err(unknown()),
            }
        };
        Ok(Asset { symbol: entry.symbol, address: Some(entry.address), decimals: entry.decimals })
    }
}

/// `amount` whole units of `asset`, in base units: positive, exact.
fn amount_of(amount: &str, asset: &Asset) -> Result<U256, IntentError> {
    match parse_units(amount, asset.decimals) {
        Ok(units) if !units.is_zero() => Ok(units),
        _ => Err(IntentError::BadAmount(amount.trim().to_owned())),
    }
}

/// A `0x` address (a mixed-case one must carry a valid checksum).
fn address(input: &str) -> Result<Address, IntentError> {
    aomi_core::Address::parse(input.trim())
        .map(aomi_core::Address::into_alloy)
        .map_err(|_| IntentError::BadAddress(input.trim().to_owned()))
}

/// How a resolved asset is named to `stage_swap`: a token by its address (so it cannot resolve to
/// another), the coin by its symbol.
fn asset_argument(asset: &Asset) -> String {
    asset.address.map_or_else(|| asset.symbol.clone(), |address| address.to_string())
}

#[cfg(test)]
mod tests {
    use aomi_chain::NetworkRegistry;

    use super::*;
    use crate::chain::WALLET_TOOL;
    use crate::defi::SEND_BATCH_TOOL;

    fn resolver() -> IntentResolver {
        IntentResolver(Arc::new(ChainSessions::new(NetworkRegistry::builtin(), "ethereum").unwrap()))
    }

    const FRIEND: &str = "0x1111111111111111111111111111111111111111";

    fn transfer(token: &str, amount: &str, to: &str) -> WalletIntent {
        WalletIntent::Transfer { token: token.into(), amount: amount.into(), to: to.into() }
    }

    #[test]
    fn a_token_transfer_is_transfer_calldata_in_base_units() {
        let plan = resolver().plan(&transfer("usdc", "500", FRIEND), "chat").unwrap();
        let [call] = plan.calls.as_slice() else { panic!("{plan:?}") };
        assert_eq!(call.tool, WALLET_TOOL);
        assert_eq!(call.arguments["signature"], "transfer(address,uint256)");
        assert_eq!(call.arguments["args"][1], "500000000", "USDC has 6 decimals");
        assert!(call.arguments["args"][0].as_str().unwrap().eq_ignore_ascii_case(FRIEND));
        assert!(plan.summary.contains("500 USDC"), "{}", plan.summary);
    }

    #[test]
    fn the_coin_goes_as_value() {
        let plan = resolver().plan(&transfer("ETH", "0.5", FRIEND), "chat").unwrap();
        assert_eq!(plan.calls[0].arguments["value"], "500000000000000000");
        assert!(plan.calls[0].arguments.get("signature").is_none());
    }

    #[test]
    fn anything_unclear_is_left_to_the_main_model() {
        let r = resolver();
        assert_eq!(r.plan(&WalletIntent::None, "chat"), Err(IntentError::NoAction));
        assert!(matches!(r.plan(&transfer("US", "5", FRIEND), "chat"), Err(IntentError::UnknownToken(_))));
        assert!(matches!(r.plan(&transfer("USDC", "five", FRIEND), "chat"), Err(IntentError::BadAmount(_))));
        assert!(matches!(r.plan(&transfer("USDC", "0", FRIEND), "chat"), Err(IntentError::BadAmount(_))));
        assert!(matches!(r.plan(&transfer("USDC", "0.0000001", FRIEND), "chat"), Err(IntentError::BadAmount(_))));
        assert!(matches!(r.plan(&transfer("USDC", "5", "vitalik.eth"), "chat"), Err(IntentError::BadAddress(_))));
        let approve = WalletIntent::Approve { token: "ETH".into(), spender: FRIEND.into(), amount: "1".into() };
        assert_eq!(r.plan(&approve, "chat"), Err(IntentError::NativeApproval));
        let swap = WalletIntent::Swap { sell: "USDC".into(), buy: "usdc".into(), amount: "1".into() };
        assert_eq!(r.plan(&swap, "chat"), Err(IntentError::SameAsset));
    }

    #[test]
    fn a_swap_is_staged_then_sent_as_a_batch() {
        let swap = WalletIntent::Swap { sell: "ETH".into(), buy: "USDC".into(), amount: "1".into() };
        let plan = resolver().plan(&swap, "chat").unwrap();
        let tools: Vec<&str> = plan.calls.iter().map(|c| c.tool).collect();
        assert_eq!(tools, ["stage_swap", SEND_BATCH_TOOL]);
        assert_eq!(plan.calls[0].arguments["sell"], "ETH");
        assert_eq!(plan.calls[0].arguments["amount"], "1");
    }

    #[test]
    fn the_model_answer_parses_into_an_intent() {
        let answer =
            r#"{"action":"transfer","token":"USDC","amount":"5","to":"0x1111111111111111111111111111111111111111"}"#;
        assert_eq!(serde_json::from_str::<WalletIntent>(answer).unwrap(), transfer("USDC", "5", FRIEND));
        let none: WalletIntent = serde_json::from_str(r#"{"action":"none"}"#).unwrap();
        assert_eq!(none, WalletIntent::None);
    }
}
