//! The rules, one function each.

use alloy::primitives::U256;

use super::{Level, RiskInput, Rule};
use crate::simulation::report::{Standard, short};
use crate::units::format_units;

/// Every rule, most serious first.
pub static RULES: &[Rule] = &[
    Rule { id: "simulation-failed", level: Level::Danger, check: simulation_failed },
    Rule { id: "insufficient-balance", level: Level::Danger, check: insufficient_balance },
    Rule { id: "value-to-non-payable", level: Level::Danger, check: value_to_non_payable },
    Rule { id: "recipient-is-token-contract", level: Level::Danger, check: recipient_is_token_contract },
    Rule { id: "approval-spender-not-contract", level: Level::Danger, check: approval_spender_not_contract },
    Rule { id: "no-slippage-protection", level: Level::Danger, check: no_slippage_protection },
    Rule { id: "chain-mismatch", level: Level::Danger, check: chain_mismatch },
    Rule { id: "address-poisoning", level: Level::Danger, check: address_poisoning },
    Rule { id: "unlimited-approval", level: Level::Warning, check: unlimited_approval },
    Rule { id: "first-time-recipient", level: Level::Warning, check: first_time_recipient },
    Rule { id: "token-balance-mismatch", level: Level::Warning, check: token_balance_mismatch },
    Rule { id: "simulation-limited", level: Level::Warning, check: simulation_limited },
];

fn simulation_failed(input: &RiskInput<'_>) -> Option<String> {
    if input.report.success {
        return None;
    }
    let reason = input.report.revert.as_ref().map(|r| r.reason.as_str()).unwrap_or("no reason given");
    Some(format!(
        "The transaction fails in simulation ({reason}). Sent as it is, it would fail on chain and still cost the fee."
    ))
}

fn insufficient_balance(input: &RiskInput<'_>) -> Option<String> {
    let (request, facts) = (input.request, input.facts);
    if let (Some(balance), Some(amount)) =
        (facts.sender_token_balance, facts.token_call.as_ref().and_then(|c| c.amount_sent_by(request.from)))
        && amount > balance
    {
        let token = facts.token.clone().unwrap_or_default();
        let symbol = token.symbol.unwrap_or_else(|| "tokens".into());
        let show = |v: U256| match token.decimals {
            Some(d) => format!("{} {symbol}", format_units(v, d)),
            None => format!("{v} base units of {symbol}"),
        };
        return Some(format!("This sends {} but {} holds only {}.", show(amount), short(&request.from), show(balance)));
    }
    let balance = facts.sender_balance?;
    let fee = facts.fee.unwrap_or_default();
    let needed = request.value.saturating_add(fee);
    if needed <= balance || (request.value.is_zero() && facts.fee.is_none()) {
        return None;
    }
    let coin = |v: U256| format!("{} {}", format_units(v, facts.native_decimals), facts.native_symbol);
    Some(if request.value > balance {
        format!("This sends {} but {} holds only {}.", coin(request.value), short(&request.from), coin(balance))
    } else {
        format!(
            "This sends {} plus about {} of fee, but {} holds only {}.",
            coin(request.value),
            coin(fee),
            short(&request.from),
            coin(balance)
        )
    })
}

fn value_to_non_payable(input: &RiskInput<'_>) -> Option<String> {
    let (request, facts) = (input.request, input.facts);
    // With calldata, the coin is to blame when the same call without it succeeds; without
    // calldata, sending coin is all the transaction does.
    let coin_is_the_cause = request.data.is_empty() || facts.succeeds_without_value == Some(true);
    let fires =
        !request.value.is_zero() && !input.report.success && facts.to_is_contract == Some(true) && coin_is_the_cause;
    fires.then(|| {
        format!(
            "{} is a contract that does not accept {} here: the transaction fails only because {} {} is attached.",
            short(&request.to),
            facts.native_symbol,
            format_units(request.value, facts.native_decimals),
            facts.native_symbol
        )
    })
}

fn recipient_is_token_contract(input: &RiskInput<'_>) -> Option<String> {
    let facts = input.facts;
    let recipient = facts.recipient?;
    let to_the_token_itself = facts.token_call.is_some() && recipient == input.request.to;
    // Coin sent to WETH comes back as WETH: a token contract that pays the sender is a swap, not a loss.
    let paid_back = input
        .report
        .asset_changes
        .iter()
        .any(|c| c.address == input.request.from && c.standard != Standard::Native && c.delta().is_positive());
    ((to_the_token_itself || facts.recipient_is_token == Some(true)) && !paid_back).then(|| {
        format!(
            "The recipient {} is a token contract, not a wallet: whatever is sent there is almost always lost for good.",
            short(&recipient)
        )
    })
}

fn approval_spender_not_contract(input: &RiskInput<'_>) -> Option<String> {
    let spenders: Vec<String> = input
        .report
        .approvals
        .iter()
        .filter(|a| a.granted && a.owner == input.request.from)
        .filter(|a| input.facts.has_code.get(&a.spender) == Some(&false))
        .map(|a| short(&a.spender))
        .collect();
    (!spenders.is_empty()).then(|| {
        format!(
            "The approval goes to {}, an ordinary account, not a contract. Apps are contracts; an approval to an ordinary address is how wallet drainers take tokens.",
            spenders.join(", ")
        )
    })
}

fn no_slippage_protection(input: &RiskInput<'_>) -> Option<String> {
    let zero = input.facts.minimum_outputs.iter().find(|m| m.value.is_zero())?;
    Some(format!(
        "This swap accepts any output ({} is 0 in {}): a bot can sandwich it and you may receive almost nothing. Set a minimum output.",
        zero.parameter, zero.function
    ))
}

fn chain_mismatch(input: &RiskInput<'_>) -> Option<String> {
    let wallet = input.request.wallet_chain_id?;
    (wallet != input.request.chain_id).then(|| {
        format!(
            "This transaction is for chain id {} but the wallet is on chain id {wallet}: switch the wallet's network first.",
            input.request.chain_id
        )
    })
}

/// How many hex digits at each end of an address people compare, and poisoners copy.
const LOOK_ALIKE_DIGITS: usize = 4;

/// Whether two different addresses share their first and last [`LOOK_ALIKE_DIGITS`] hex digits.
pub(crate) fn looks_alike(a: &alloy::primitives::Address, b: &alloy::primitives::Address) -> bool {
    let (a, b) = (alloy::primitives::hex::encode(a), alloy::primitives::hex::encode(b));
    let n = LOOK_ALIKE_DIGITS;
    a != b && a[..n] == b[..n] && a[a.len() - n..] == b[b.len() - n..]
}

fn address_poisoning(input: &RiskInput<'_>) -> Option<String> {
    let facts = input.facts;
    let recipient = facts.recipient?;
    if facts.labels.contains_key(&recipient) || facts.past_recipients.contains(&recipient) {
        return None;
    }
    if let Some((known, label)) = facts.labels.iter().find(|(known, _)| looks_alike(known, &recipient)) {
        return Some(format!(
            "The recipient {} is NOT {} (\"{label}\"), though it starts and ends like it: look-alike addresses are how address-poisoning scams take funds. Compare every character, or pick the address from your labels.",
            recipient.to_checksum(None),
            known.to_checksum(None),
        ));
    }
    let known = facts.past_recipients.iter().find(|known| looks_alike(known, &recipient))?;
    Some(format!(
        "The recipient {} is NOT {}, an address this wallet sent to before, though it starts and ends like it: look-alike addresses are how address-poisoning scams take funds (they send a tiny transfer so the fake shows in your history). Compare every character.",
        recipient.to_checksum(None),
        known.to_checksum(None),
    ))
}

fn unlimited_approval(input: &RiskInput<'_>) -> Option<String> {
    let approval = input.report.approvals.iter().find(|a| a.granted && a.unlimited && a.owner == input.request.from)?;
    let what = match approval.standard {
        Standard::Erc20 => format!("every {} you hold, now and later", approval.symbol.as_deref().unwrap_or("token")),
        _ => format!("every {} token you hold", approval.symbol.as_deref().unwrap_or("collection")),
    };
    Some(format!(
        "This lets {} move {what} (an unlimited approval). Approve only the amount you need.",
        short(&approval.spender)
    ))
}

fn first_time_recipient(input: &RiskInput<'_>) -> Option<String> {
    let recipient = input.facts.recipient?;
    // Contracts are reached through apps; the typo and address-poisoning risk is for people.
    let is_person = input.facts.has_code.get(&recipient) == Some(&false);
    // A labelled address is known to the person: they named it.
    let labelled = input.facts.labels.contains_key(&recipient);
    (is_person && !labelled && input.facts.sent_before == Some(false)).then(|| {
        format!(
            "No transfer from this wallet to {} was found in the last {} blocks: compare the whole address, not just its first and last characters.",
            recipient.to_checksum(None),
            input.facts.history_blocks
        )
    })
}

fn token_balance_mismatch(input: &RiskInput<'_>) -> Option<String> {
    let (token, holder) = input.facts.balance_mismatches.first()?;
    Some(format!(
        "The {token} balance of {} changes by another amount than its transfer events say (a fee-on-transfer or rebasing token): the changes shown are the balances.",
        short(holder)
    ))
}

fn simulation_limited(input: &RiskInput<'_>) -> Option<String> {
    input.facts.limited.then(|| {
        "This network's RPC cannot simulate transactions (no eth_simulateV1), so the balance changes shown are read from the call data, not executed.".to_owned()
    })
}
