//! The report's asset changes and approvals, from the movements and the balances read.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, I256, U256};

use crate::network::NativeCurrency;
use crate::simulation::engine::UNLIMITED_ALLOWANCE;
use crate::simulation::events::{ApprovalEvent, Movements};
use crate::simulation::reads::Reads;
use crate::simulation::report::{Approval, AssetChange, Standard, format_delta, short};
use crate::units::format_units;

/// Signed change of `amount` for an address that receives (`+`) or sends (`-`).
fn signed(amount: U256) -> I256 {
    I256::try_from(amount).unwrap_or(I256::MAX)
}

/// Balance changes: native from the traced transfers, ERC20 from the balances read (the events
/// choosing the pairs), collectibles from their events.
pub(crate) fn asset_changes(
    movements: &Movements,
    reads: &Reads,
    native: &NativeCurrency,
    mismatches: &mut Vec<(String, Address)>,
) -> Vec<AssetChange> {
    let mut changes = Vec::new();
    let mut coin: BTreeMap<Address, I256> = BTreeMap::new();
    for m in &movements.native {
        *coin.entry(m.from).or_default() -= signed(m.amount);
        *coin.entry(m.to).or_default() += signed(m.amount);
    }
    for (address, delta) in coin.into_iter().filter(|(a, d)| !a.is_zero() && !d.is_zero()) {
        changes.push(AssetChange {
            address,
            token: None,
            standard: Standard::Native,
            token_id: None,
            symbol: Some(native.symbol.clone()),
            decimals: Some(native.decimals),
            delta: delta.to_string(),
            formatted: format_delta(delta, Some(native.decimals), Some(&native.symbol)),
            usd: None,
        });
    }

    let mut fungible: BTreeMap<(Address, Address), I256> = BTreeMap::new();
    for m in &movements.fungible {
        let Some(token) = m.token else { continue };
        *fungible.entry((token, m.from)).or_default() -= signed(m.amount);
        *fungible.entry((token, m.to)).or_default() += signed(m.amount);
    }
    // Pairs read without an event are kept only for tokens that answer `decimals()`: an ERC721
    // called with `transferFrom` (the ERC20 selector) is not an ERC20.
    let read_pairs = reads.after.keys().filter(|(token, _)| reads.decimals.contains_key(token)).copied();
    let pairs: BTreeSet<(Address, Address)> = fungible.keys().copied().chain(read_pairs).collect();
    for (token, holder) in pairs.into_iter().filter(|(_, h)| !h.is_zero()) {
        let from_events = fungible.get(&(token, holder)).copied().unwrap_or_default();
        let from_balances = match (reads.before.get(&(token, holder)), reads.after.get(&(token, holder))) {
            (Some(before), Some(after)) => Some(signed(*after) - signed(*before)),
            _ => None,
        };
        let info = reads.token_info(token);
        if from_balances.is_some_and(|d| d != from_events) {
            mismatches.push((info.symbol.clone().unwrap_or_else(|| token.to_checksum(None)), holder));
        }
        let delta = from_balances.unwrap_or(from_events);
        if delta.is_zero() {
            continue;
        }
        changes.push(AssetChange {
            address: holder,
            token: Some(token),
            standard: Standard::Erc20,
            token_id: None,
            formatted: format_delta(delta, info.decimals, info.symbol.as_deref()),
            usd: None,
            symbol: info.symbol,
            decimals: info.decimals,
            delta: delta.to_string(),
        });
    }

    let mut collectibles: BTreeMap<(Address, U256, Address, Standard), I256> = BTreeMap::new();
    for m in &movements.nft {
        *collectibles.entry((m.token, m.id, m.from, m.standard)).or_default() -= signed(m.amount);
        *collectibles.entry((m.token, m.id, m.to, m.standard)).or_default() += signed(m.amount);
    }
    for ((token, id, holder, standard), delta) in collectibles {
        if holder.is_zero() || delta.is_zero() {
            continue;
        }
        let symbol = reads.symbols.get(&token).cloned();
        let label = symbol.clone().unwrap_or_else(|| short(&token));
        let formatted = format!("{} #{id}", format_delta(delta, Some(0), Some(&label)));
        changes.push(AssetChange {
            address: holder,
            token: Some(token),
            standard,
            token_id: Some(id.to_string()),
            symbol,
            decimals: Some(0),
            delta: delta.to_string(),
            formatted,
            usd: None,
        });
    }
    changes
}

/// The approvals, with their token's symbol and decimals.
pub(crate) fn approvals(events: &[ApprovalEvent], reads: &Reads) -> Vec<Approval> {
    events
        .iter()
        .map(|a| {
            let info = reads.token_info(a.token);
            let symbol = info.symbol.clone().unwrap_or_else(|| short(&a.token));
            let unlimited = match (a.standard, a.amount, a.token_id) {
                (Standard::Erc20, Some(amount), _) => amount >= UNLIMITED_ALLOWANCE,
                (_, None, None) => a.granted,
                _ => false,
            };
            let formatted = match (a.amount, a.token_id) {
                _ if unlimited && a.standard == Standard::Erc20 => format!("unlimited {symbol}"),
                _ if unlimited => format!("every {symbol}"),
                (Some(amount), _) => match info.decimals {
                    Some(decimals) => format!("{} {symbol}", format_units(amount, decimals)),
                    None => format!("{amount} base units of {symbol}"),
                },
                (None, Some(id)) if a.granted => format!("{symbol} #{id}"),
                (None, Some(id)) => format!("{symbol} #{id} (approval removed)"),
                (None, None) => format!("no {symbol} (operator removed)"),
            };
            Approval {
                owner: a.owner,
                token: a.token,
                standard: a.standard,
                spender: a.spender,
                amount: a.amount.map(|v| v.to_string()),
                token_id: a.token_id.map(|v| v.to_string()),
                unlimited,
                granted: a.granted,
                operator: a.amount.is_none() && a.token_id.is_none(),
                symbol: info.symbol,
                decimals: if a.standard == Standard::Erc20 { info.decimals } else { Some(0) },
                formatted,
            }
        })
        .collect()
}
