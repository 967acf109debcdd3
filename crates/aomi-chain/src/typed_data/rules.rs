//! Safety checks on a signature request, shown before the person signs: the same shape as the
//! transaction rules ([`crate::risk`]), pure functions of the request and the [`SignatureFacts`]
//! read from the chain, so every rule is tested without a node.
//!
//! | id | level | fires when |
//! |---|---|---|
//! | `domain-chain-mismatch` | danger | the domain's chain id is not the wallet's chain |
//! | `verifying-contract-mismatch` | danger | a Permit2 signature not for Permit2's address, or a verifying contract without code or whose `DOMAIN_SEPARATOR()` is another domain's |
//! | `permit-spender-not-contract` | danger | an unlimited allowance to an address without code |
//! | `order-gives-away` | danger | a Seaport order that gives items and asks nothing back for the offerer |
//! | `unlimited-permit` | warning | an allowance of any amount |
//! | `long-permit` | warning | an allowance or a signature that lasts longer than the threshold (or never ends) |
//! | `signature-moves-assets` | warning | signing moves assets by itself: a Permit2 transfer, an EIP-3009 transfer, a Seaport order |
//! | `signer-not-wallet` | warning | the owner the message names is not the connected wallet |

use std::collections::HashMap;

use alloy::primitives::{Address, U256};

use super::decode::{Decoded, PermitKind, max_u48};
use super::{PERMIT2, review::format_date};
use crate::risk::{Level, Warning};
use crate::simulation::report::short;

/// A signature safety check.
#[derive(Debug, Clone, Copy)]
pub struct SignatureRule {
    /// Its stable id.
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// Returns the sentence to show when the rule fires.
    pub check: fn(&SignatureInput<'_>) -> Option<String>,
}

/// What the chain and the wallet say, for the rules. `None` is "could not tell": a rule that needs
/// an unknown fact does not fire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureFacts {
    /// The connected wallet's address.
    pub wallet: Option<Address>,
    /// The wallet's chain.
    pub wallet_chain_id: Option<u64>,
    /// Now, in seconds since 1970.
    pub now: u64,
    /// A permit lasting longer than this, in seconds, is long.
    pub long_permit_secs: u64,
    /// Whether the spender, the recipient and the verifying contract have code.
    pub has_code: HashMap<Address, bool>,
    /// Whether the verifying contract's `DOMAIN_SEPARATOR()` is the signed domain's (`None` when
    /// it does not answer).
    pub domain_separator_matches: Option<bool>,
    /// Where Permit2 is on this chain beside its canonical address (a devnet's copy).
    pub permit2: Vec<Address>,
    /// Token symbols, for the sentences.
    pub symbols: HashMap<Address, String>,
}

/// What the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct SignatureInput<'a> {
    /// The domain's chain id.
    pub chain_id: Option<u64>,
    /// The domain's verifying contract.
    pub verifying_contract: Option<Address>,
    /// The typed data decoded, when of a kind aomi knows.
    pub decoded: Option<&'a Decoded>,
    /// The facts.
    pub facts: &'a SignatureFacts,
}

/// Every signature rule, most serious first.
pub static SIGNATURE_RULES: &[SignatureRule] = &[
    SignatureRule { id: "domain-chain-mismatch", level: Level::Danger, check: domain_chain_mismatch },
    SignatureRule { id: "verifying-contract-mismatch", level: Level::Danger, check: verifying_contract_mismatch },
    SignatureRule { id: "permit-spender-not-contract", level: Level::Danger, check: spender_not_contract },
    SignatureRule { id: "order-gives-away", level: Level::Danger, check: order_gives_away },
    SignatureRule { id: "unlimited-permit", level: Level::Warning, check: unlimited_permit },
    SignatureRule { id: "long-permit", level: Level::Warning, check: long_permit },
    SignatureRule { id: "signature-moves-assets", level: Level::Warning, check: moves_assets },
    SignatureRule { id: "signer-not-wallet", level: Level::Warning, check: signer_not_wallet },
];

/// Runs every rule; the warnings come most serious first.
pub fn assess(input: &SignatureInput<'_>) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = SIGNATURE_RULES
        .iter()
        .filter_map(|rule| {
            (rule.check)(input).map(|message| Warning { id: rule.id.to_owned(), level: rule.level, message })
        })
        .collect();
    warnings.sort_by_key(|w| w.level);
    warnings
}

fn symbol(facts: &SignatureFacts, token: &Address) -> String {
    facts.symbols.get(token).cloned().unwrap_or_else(|| short(token))
}

fn domain_chain_mismatch(input: &SignatureInput<'_>) -> Option<String> {
    let (signed, wallet) = (input.chain_id?, input.facts.wallet_chain_id?);
    (signed != wallet).then(|| {
        format!(
            "This signature is for chain {signed}, but your wallet is on chain {wallet}: a site asking you to sign for another chain may replay it there."
        )
    })
}

fn verifying_contract_mismatch(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded?;
    let Some(contract) = input.verifying_contract else {
        return decoded.kind.is_permit2().then(|| "This Permit2 signature names no verifying contract.".to_owned());
    };
    let facts = input.facts;
    if decoded.kind.is_permit2() && contract != PERMIT2 && !facts.permit2.contains(&contract) {
        return Some(format!(
            "This claims to be a Permit2 signature, but it is for {}, not Permit2 ({}).",
            short(&contract),
            short(&PERMIT2)
        ));
    }
    if facts.has_code.get(&contract) == Some(&false) {
        return Some(format!(
            "The contract this signature is for ({}) has no code on this chain: it is not the token or Permit2 it claims to be.",
            short(&contract)
        ));
    }
    (facts.domain_separator_matches == Some(false)).then(|| {
        format!(
            "The signed domain is not the domain of {} (its DOMAIN_SEPARATOR differs): the name, version or chain do not match the contract.",
            short(&contract)
        )
    })
}

fn spender_not_contract(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded?;
    let spender = decoded.spender?;
    let unlimited = decoded.given.iter().find(|i| i.unlimited)?;
    let fires = decoded.kind.is_allowance() && input.facts.has_code.get(&spender) == Some(&false);
    fires.then(|| {
        format!(
            "This lets {} spend any amount of your {}, and it is an address without code (a person's key, not a contract): a common way to drain wallets.",
            short(&spender),
            symbol(input.facts, &unlimited.token)
        )
    })
}

fn order_gives_away(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded.filter(|d| d.kind == PermitKind::SeaportOrder)?;
    (!decoded.given.is_empty() && decoded.received.is_empty()).then(|| {
        format!(
            "This order gives away {} item(s) and asks nothing back for you: anyone can fill it and take them for free.",
            decoded.given.len()
        )
    })
}

fn unlimited_permit(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded.filter(|d| d.kind.is_allowance())?;
    let item = decoded.given.iter().find(|i| i.unlimited)?;
    let spender = decoded.spender.map(|s| short(&s)).unwrap_or_else(|| "the spender".into());
    Some(format!(
        "This lets {spender} spend any amount of your {}, not just what this action needs.",
        symbol(input.facts, &item.token)
    ))
}

fn long_permit(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded?;
    let facts = input.facts;
    let limit = U256::from(facts.now.saturating_add(facts.long_permit_secs));
    let days = facts.long_permit_secs / 86_400;
    let describe = |when: U256, what: &str| -> Option<String> {
        if when <= limit {
            return None;
        }
        Some(if when >= max_u48() {
            format!("{what} never ends.")
        } else {
            format!("{what} lasts until {}, more than {days} days from now.", format_date(when))
        })
    };
    let allowance = decoded.kind.is_allowance().then_some(decoded.expiry).flatten();
    allowance
        .and_then(|when| describe(when, "The allowance"))
        .or_else(|| decoded.deadline.and_then(|when| describe(when, "This signature can be used at any time: it")))
}

fn moves_assets(input: &SignatureInput<'_>) -> Option<String> {
    let decoded = input.decoded.filter(|d| d.kind.moves_assets())?;
    if decoded.kind == PermitKind::SeaportOrder {
        return (!decoded.given.is_empty() && !decoded.received.is_empty()).then(|| {
            format!(
                "This signs a Seaport order: once anyone fills it, {} item(s) leave your wallet without another confirmation.",
                decoded.given.len()
            )
        });
    }
    let who = decoded.spender.map(|s| short(&s)).unwrap_or_else(|| "whoever holds it".into());
    let what: Vec<String> = decoded.given.iter().map(|i| symbol(input.facts, &i.token)).collect();
    Some(format!(
        "Signing this moves your {} without a transaction of yours: {who} can submit it and the tokens leave your wallet.",
        what.join(", ")
    ))
}

fn signer_not_wallet(input: &SignatureInput<'_>) -> Option<String> {
    let owner = input.decoded?.owner?;
    let wallet = input.facts.wallet?;
    (owner != wallet)
        .then(|| format!("The message names {} as the owner, but your wallet is {}.", short(&owner), short(&wallet)))
}
