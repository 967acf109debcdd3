//! The engine: two rounds of requests, each sent at once, then a report.
//!
//! 1. `eth_simulateV1` of the transaction with `traceTransfers` (its outcome, gas, logs and native
//!    transfers), together with the gas price, the code at `to` and the sender's balance.
//! 2. On the block the first round ran on: one more `eth_simulateV1` whose single block reads each
//!    token's `decimals()` and `symbol()` and every involved holder's `balanceOf` before the
//!    transaction, runs the transaction again, and reads the balances after it; together with the
//!    code of the spenders and the recipient, the sender's transfer history (`eth_getLogs`), and,
//!    for a failing call that sends coin to a contract, the same call without the coin.
//!
//! ERC20 changes are the balance differences read on chain, with the `Transfer` events only
//! choosing which (token, holder) pairs to read; a disagreement is reported. Native changes come
//! from `traceTransfers`; ERC721 and ERC1155 changes from their transfer events.
//!
//! A node without `eth_simulateV1` gets a limited report: `eth_call` for the outcome,
//! `eth_estimateGas` for the gas, the asset changes read from the calldata (a coin transfer, an
//! ERC20 `transfer`, `transferFrom` or `approve`), and a `simulation-limited` warning.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::eips::BlockNumberOrTag;
use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, Bytes, I256, LogData, U64, U256, hex};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use alloy::transports::{RpcError, TransportErrorKind};
use futures::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::contracts::IERC20;
use crate::error::ChainError;
use crate::provider::ChainProvider;
use crate::risk::{self, Facts, RiskInput, TokenInfo};
use crate::session::{Connection, KnownContracts};
use crate::simulation::calldata::{TokenCall, minimum_outputs};
use crate::simulation::events::{ApprovalEvent, Move, Movements, read_logs};
use crate::simulation::report::{
    Amount, Approval, AssetChange, Revert, SimulationReport, Standard, format_delta, short,
};
use crate::simulation::request::SimulationRequest;
use crate::simulation::revert;
use crate::units::format_units;

/// The method name in reports simulated by the node.
pub const METHOD_SIMULATE: &str = "eth_simulateV1";
/// The method name in limited reports.
pub const METHOD_CALL: &str = "eth_call";

/// An ERC20 allowance at least this large is "unlimited": 2^96 - 1 and above covers the
/// `type(uint256).max`, `type(uint128).max` and `type(uint96).max` that wallets and tokens use.
pub const UNLIMITED_ALLOWANCE: U256 = U256::from_limbs([u64::MAX, (1u64 << 32) - 1, 0, 0]);

/// Settings of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulationOptions {
    /// How many recent blocks the "sent to this address before" check searches.
    pub history_blocks: u64,
}

impl Default for SimulationOptions {
    fn default() -> Self {
        SimulationOptions { history_blocks: 10_000 }
    }
}

/// Simulates `request` on `connection`'s network, with the default options. `known` supplies
/// ABIs for custom errors and logs.
pub async fn simulate(
    connection: &Connection,
    known: &KnownContracts,
    request: &SimulationRequest,
) -> Result<SimulationReport, ChainError> {
    simulate_with(connection, known, request, SimulationOptions::default()).await
}

/// Simulates `request` on `connection`'s network. A transaction that would fail is a report with
/// `success: false`; an error means the simulation itself could not be done (unreachable RPC,
/// wrong chain).
pub async fn simulate_with(
    connection: &Connection,
    known: &KnownContracts,
    request: &SimulationRequest,
    options: SimulationOptions,
) -> Result<SimulationReport, ChainError> {
    let network = &connection.network;
    if network.chain_id != request.chain_id {
        return Err(ChainError::InvalidInput(format!(
            "the request is for chain id {} but the connection is to {} (chain id {})",
            request.chain_id, network.name, network.chain_id
        )));
    }
    let provider = &connection.provider;
    let rpc = |error| ChainError::from_rpc(error, network, None);
    let abi = known.get(request.chain_id, request.to).map(|c| c.abi);
    let tx = call_json(request.from, request.to, request.value, &request.data, request.gas);

    let (first, latest, gas_price, to_code, sender_balance) = tokio::join!(
        simulate_calls(provider, vec![tx.clone()], BlockNumberOrTag::Latest),
        provider.get_block_number(),
        provider.get_gas_price(),
        provider.get_code_at(request.to),
        provider.get_balance(request.from),
    );
    // The block the simulation ran on. Not read from the simulated block's number: the spec makes
    // it the base block + 1, anvil makes it the base block.
    let latest = latest.map_err(rpc)?;
    let gas_price = U256::from(gas_price.map_err(rpc)?);
    let to_is_contract = has_code(&to_code.map_err(rpc)?);
    let token_call = TokenCall::decode(&request.data);

    let (mode, outcome) = match first {
        Ok(mut calls) if calls.len() == 1 => {
            let call = calls.remove(0);
            (Mode::Simulate, Outcome::simulated(call, latest, request.gas, abi.as_deref()))
        }
        Ok(calls) => {
            return Err(ChainError::Rpc {
                network: network.name.clone(),
                message: format!("eth_simulateV1 answered {} results for one call", calls.len()),
            });
        }
        Err(SimFailure::Rejected(message)) => (Mode::Simulate, Outcome::rejected(&message, latest)),
        Err(SimFailure::Unsupported) => {
            (Mode::Call, Outcome::called(provider, request, abi.as_deref(), network, latest).await?)
        }
        Err(SimFailure::Rpc(error)) => return Err(rpc(error)),
    };

    let movements = match mode {
        Mode::Simulate if outcome.success => read_logs(
            &outcome.logs.iter().map(|(_, log)| log.clone()).collect::<Vec<_>>(),
            &outcome.logs.iter().map(|(address, _)| *address).collect::<Vec<_>>(),
            request.chain_id,
            known,
        ),
        Mode::Simulate => Movements::default(),
        Mode::Call if outcome.success => predicted_movements(request, token_call.as_ref()),
        Mode::Call => Movements::default(),
    };

    // The second round.
    let recipient = match &token_call {
        Some(call) => call.recipient(),
        None if request.data.is_empty() => Some(request.to),
        None => None,
    };
    let called_token = token_call
        .as_ref()
        .filter(|c| {
            matches!(c, TokenCall::Transfer { .. } | TokenCall::TransferFrom { .. } | TokenCall::Approve { .. })
        })
        .map(|_| request.to);
    let mut plan = ReadPlan::default();
    for token in movements.erc20_tokens().into_iter().chain(called_token) {
        plan.fungible.insert(token);
        plan.holders.extend(movements.holders(token).into_iter().map(|holder| (token, holder)));
    }
    if let (Some(token), Some(_)) = (called_token, token_call.as_ref().and_then(|c| c.amount_sent_by(request.from))) {
        plan.holders.insert((token, request.from));
    }
    plan.collectibles.extend(movements.nft_tokens());
    plan.recipient = recipient.filter(|r| Some(*r) != called_token);

    let mut code_targets: BTreeSet<Address> =
        movements.approvals.iter().filter(|a| a.granted && a.owner == request.from).map(|a| a.spender).collect();
    code_targets.extend(recipient);
    let code_targets: Vec<Address> = code_targets.into_iter().collect();
    let base = outcome.base_block.map(BlockNumberOrTag::Number).unwrap_or(BlockNumberOrTag::Latest);
    let retry_without_value =
        !request.value.is_zero() && !request.data.is_empty() && !outcome.success && to_is_contract;

    let (reads, codes, sent_before, succeeds_without_value) = tokio::join!(
        plan.run(provider, mode, outcome.success.then_some(&tx), base),
        join_all(code_targets.iter().map(|a| async move { provider.get_code_at(*a).await })),
        async {
            match (recipient, outcome.base_block) {
                (Some(to), Some(latest)) => {
                    sent_before(provider, request.from, to, latest, options.history_blocks).await
                }
                _ => None,
            }
        },
        async {
            if !retry_without_value || mode == Mode::Call {
                return None;
            }
            let call = call_json(request.from, request.to, U256::ZERO, &request.data, request.gas);
            match simulate_calls(provider, vec![call], base).await {
                Ok(calls) => calls.first().map(|c| c.status.to::<u64>() == 1),
                Err(_) => None,
            }
        },
    );
    let has_code_map: HashMap<Address, bool> =
        code_targets.iter().zip(codes).filter_map(|(a, code)| code.ok().map(|c| (*a, has_code(&c)))).collect();

    // The report.
    let called_erc20 = called_token.filter(|t| reads.decimals.contains_key(t));
    let native = &network.native;
    let mut mismatches = Vec::new();
    let mut asset_changes = asset_changes(&movements, &reads, native, &mut mismatches);
    // The sender's own changes first: they are what the person signs for.
    asset_changes.sort_by_key(|c| c.address != request.from);
    let approvals = approvals(&movements.approvals, &reads);
    let fee = outcome.gas_used.map(|gas| U256::from(gas).saturating_mul(gas_price));
    let mut report = SimulationReport {
        chain_id: request.chain_id,
        block_number: outcome.base_block,
        method: match mode {
            Mode::Simulate => METHOD_SIMULATE,
            Mode::Call => METHOD_CALL,
        }
        .to_owned(),
        success: outcome.success,
        revert: outcome.revert,
        gas_used: outcome.gas_used,
        gas_price: gas_price.to_string(),
        estimated_fee: fee.map(|fee| Amount::new(fee, native.decimals, &native.symbol)),
        asset_changes,
        approvals,
        logs: movements.logs,
        warnings: Vec::new(),
    };
    let facts = Facts {
        native_symbol: native.symbol.clone(),
        native_decimals: native.decimals,
        fee,
        to_is_contract: Some(to_is_contract),
        sender_balance: sender_balance.ok(),
        token: called_erc20.map(|t| reads.token_info(t)),
        sender_token_balance: called_erc20.and_then(|t| reads.before.get(&(t, request.from)).copied()),
        token_call,
        recipient,
        recipient_is_token: reads.recipient_is_token,
        sent_before,
        history_blocks: options.history_blocks,
        has_code: has_code_map,
        succeeds_without_value,
        minimum_outputs: minimum_outputs(&request.data, abi.as_deref()),
        balance_mismatches: mismatches,
        limited: mode == Mode::Call,
    };
    report.warnings = risk::assess(&RiskInput { request, report: &report, facts: &facts });
    Ok(report)
}

/// How the transaction was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// By `eth_simulateV1`.
    Simulate,
    /// By `eth_call`, on a node without `eth_simulateV1`.
    Call,
}

/// What running the transaction gave.
#[derive(Debug, Default)]
struct Outcome {
    success: bool,
    revert: Option<Revert>,
    gas_used: Option<u64>,
    logs: Vec<(Address, LogData)>,
    /// The block the transaction ran on top of.
    base_block: Option<u64>,
}

impl Outcome {
    fn simulated(call: SimCall, base_block: u64, gas_limit: Option<u64>, abi: Option<&JsonAbi>) -> Self {
        let gas_used = call.gas_used.to::<u64>();
        let success = call.status.to::<u64>() == 1;
        let revert = (!success).then(|| {
            let data = call.revert_data();
            if data.is_empty() {
                let message = call.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default();
                revert::without_data(message, gas_used, gas_limit)
            } else {
                revert::decode(&data, abi)
            }
        });
        // A failed call moves nothing; some nodes still return the logs it emitted before failing.
        let logs = if success {
            call.logs.into_iter().map(|log| (log.address, LogData::new_unchecked(log.topics, log.data))).collect()
        } else {
            Vec::new()
        };
        Outcome { success, revert, gas_used: Some(gas_used), logs, base_block: Some(base_block) }
    }

    fn rejected(message: &str, base_block: u64) -> Self {
        Outcome { revert: Some(revert::rejected(message)), base_block: Some(base_block), ..Outcome::default() }
    }

    /// The limited outcome: `eth_call`, then `eth_estimateGas` when it succeeds.
    async fn called(
        provider: &ChainProvider,
        request: &SimulationRequest,
        abi: Option<&JsonAbi>,
        network: &crate::network::Network,
        base_block: u64,
    ) -> Result<Self, ChainError> {
        let tx = request.transaction();
        let base = Outcome { base_block: Some(base_block), ..Outcome::default() };
        match provider.call(tx.clone()).block(base_block.into()).await {
            Ok(_) => {
                let gas = provider.estimate_gas(tx).await.map_err(|e| ChainError::from_rpc(e, network, abi))?;
                Ok(Outcome { success: true, gas_used: Some(gas), ..base })
            }
            Err(RpcError::ErrorResp(payload)) => {
                let revert = match payload.as_revert_data() {
                    Some(data) => revert::decode(&data, abi),
                    None if payload.message.contains("revert") => revert::without_data(&payload.message, 0, None),
                    None => revert::rejected(&payload.message),
                };
                Ok(Outcome { revert: Some(revert), ..base })
            }
            Err(other) => Err(ChainError::from_rpc(other, network, abi)),
        }
    }
}

/// What the calldata says will move, for the limited report.
fn predicted_movements(request: &SimulationRequest, call: Option<&TokenCall>) -> Movements {
    let mut movements = Movements::default();
    if !request.value.is_zero() {
        movements.native.push(Move { token: None, from: request.from, to: request.to, amount: request.value });
    }
    let token = Some(request.to);
    match call {
        Some(TokenCall::Transfer { to, amount }) => {
            movements.fungible.push(Move { token, from: request.from, to: *to, amount: *amount });
        }
        Some(TokenCall::TransferFrom { from, to, amount }) => {
            movements.fungible.push(Move { token, from: *from, to: *to, amount: *amount });
        }
        Some(TokenCall::Approve { spender, amount }) => movements.approvals.push(ApprovalEvent {
            token: request.to,
            standard: Standard::Erc20,
            owner: request.from,
            spender: *spender,
            amount: Some(*amount),
            token_id: None,
            granted: !amount.is_zero(),
        }),
        _ => {}
    }
    movements
}

/// The second round's reads.
#[derive(Debug, Default)]
struct ReadPlan {
    /// ERC20 tokens: decimals and symbol.
    fungible: BTreeSet<Address>,
    /// ERC721 and ERC1155 contracts: symbol.
    collectibles: BTreeSet<Address>,
    /// (token, holder): balance before and after.
    holders: BTreeSet<(Address, Address)>,
    /// An address to probe with `decimals()`: does it answer like a token?
    recipient: Option<Address>,
}

/// One read of the plan.
#[derive(Debug, Clone, Copy)]
enum Read {
    Decimals(Address),
    Symbol(Address),
    Before(Address, Address),
    After(Address, Address),
    RecipientDecimals,
    Transaction,
}

/// What the reads returned.
#[derive(Debug, Default)]
struct Reads {
    decimals: HashMap<Address, u8>,
    symbols: HashMap<Address, String>,
    before: HashMap<(Address, Address), U256>,
    after: HashMap<(Address, Address), U256>,
    recipient_is_token: Option<bool>,
}

impl Reads {
    fn token_info(&self, token: Address) -> TokenInfo {
        TokenInfo { symbol: self.symbols.get(&token).cloned(), decimals: self.decimals.get(&token).copied() }
    }
}

impl ReadPlan {
    /// Runs the reads: in one `eth_simulateV1` block around `tx` (balances before and after), or,
    /// in [`Mode::Call`], as plain `eth_call`s (balances before only).
    async fn run(&self, provider: &ChainProvider, mode: Mode, tx: Option<&Value>, block: BlockNumberOrTag) -> Reads {
        let read = |to: Address, data: Vec<u8>| call_json(Address::ZERO, to, U256::ZERO, &data, None);
        let mut reads: Vec<(Read, Value)> = Vec::new();
        for &token in &self.fungible {
            reads.push((Read::Decimals(token), read(token, IERC20::decimalsCall {}.abi_encode())));
        }
        for &token in self.fungible.iter().chain(&self.collectibles) {
            reads.push((Read::Symbol(token), read(token, IERC20::symbolCall {}.abi_encode())));
        }
        if let Some(recipient) = self.recipient {
            reads.push((Read::RecipientDecimals, read(recipient, IERC20::decimalsCall {}.abi_encode())));
        }
        let balance = |token: Address, owner: Address| read(token, IERC20::balanceOfCall { owner }.abi_encode());
        for &(token, holder) in &self.holders {
            reads.push((Read::Before(token, holder), balance(token, holder)));
        }
        if let (Some(tx), Mode::Simulate) = (tx, mode) {
            reads.push((Read::Transaction, tx.clone()));
            for &(token, holder) in &self.holders {
                reads.push((Read::After(token, holder), balance(token, holder)));
            }
        }
        let mut out = Reads::default();
        if reads.is_empty() {
            return out;
        }
        let answers: Vec<Option<Bytes>> = match mode {
            Mode::Simulate => {
                let calls = reads.iter().map(|(_, call)| call.clone()).collect();
                match simulate_calls(provider, calls, block).await {
                    Ok(calls) if calls.len() == reads.len() => {
                        calls.into_iter().map(|c| (c.status.to::<u64>() == 1).then_some(c.return_data)).collect()
                    }
                    Ok(_) | Err(_) => {
                        tracing::warn!("the token reads of a simulation failed; decimals and symbols are unknown");
                        return out;
                    }
                }
            }
            Mode::Call => {
                let calls = reads.iter().map(|(_, call)| {
                    let to = call["to"].as_str().and_then(|a| a.parse::<Address>().ok()).unwrap_or_default();
                    let data = call["input"].as_str().and_then(|d| hex::decode(d).ok()).unwrap_or_default();
                    let request =
                        alloy::rpc::types::TransactionRequest::default().to(to).input(Bytes::from(data).into());
                    async move { provider.call(request).block(block.into()).await.ok() }
                });
                join_all(calls).await
            }
        };
        for ((read, _), answer) in reads.iter().zip(answers) {
            let Some(data) = answer else {
                if let Read::RecipientDecimals = read {
                    out.recipient_is_token = Some(false);
                }
                continue;
            };
            match *read {
                Read::Decimals(token) => {
                    if let Some(decimals) = small_uint(&data) {
                        out.decimals.insert(token, decimals);
                    }
                }
                Read::Symbol(token) => {
                    if let Some(symbol) = symbol(&data) {
                        out.symbols.insert(token, symbol);
                    }
                }
                Read::Before(token, holder) => {
                    if let Ok(value) = U256::abi_decode(&data) {
                        out.before.insert((token, holder), value);
                    }
                }
                Read::After(token, holder) => {
                    if let Ok(value) = U256::abi_decode(&data) {
                        out.after.insert((token, holder), value);
                    }
                }
                Read::RecipientDecimals => out.recipient_is_token = Some(small_uint(&data).is_some()),
                Read::Transaction => {}
            }
        }
        out
    }
}

/// A `uint8` answer: exactly one word holding at most 255.
fn small_uint(data: &[u8]) -> Option<u8> {
    if data.len() != 32 {
        return None;
    }
    u8::try_from(U256::from_be_slice(data)).ok()
}

/// A `symbol()` answer: an ABI string, or a bytes32 (older tokens, like MKR).
fn symbol(data: &[u8]) -> Option<String> {
    let text = String::abi_decode(data)
        .ok()
        .or_else(|| (data.len() == 32).then(|| String::from_utf8_lossy(data).trim_end_matches('\0').to_owned()))?;
    let clean: String = text.chars().filter(|c| !c.is_control()).take(32).collect();
    (!clean.trim().is_empty()).then(|| clean.trim().to_owned())
}

/// Signed change of `amount` for an address that receives (`+`) or sends (`-`).
fn signed(amount: U256) -> I256 {
    I256::try_from(amount).unwrap_or(I256::MAX)
}

/// Balance changes: native from the traced transfers, ERC20 from the balances read (the events
/// choosing the pairs), collectibles from their events.
fn asset_changes(
    movements: &Movements,
    reads: &Reads,
    native: &crate::network::NativeCurrency,
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
        });
    }
    changes
}

/// The approvals, with their token's symbol and decimals.
fn approvals(events: &[ApprovalEvent], reads: &Reads) -> Vec<Approval> {
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
                symbol: info.symbol,
                decimals: if a.standard == Standard::Erc20 { info.decimals } else { Some(0) },
                formatted,
            }
        })
        .collect()
}

/// Whether the sender sent any token to `to` in the last `window` blocks up to `latest`; `None`
/// when the node does not answer (a range limit, for example).
async fn sent_before(provider: &ChainProvider, from: Address, to: Address, latest: u64, window: u64) -> Option<bool> {
    let filter = Filter::new()
        .from_block(latest.saturating_sub(window))
        .to_block(latest)
        .event_signature(IERC20::Transfer::SIGNATURE_HASH)
        .topic1(from.into_word())
        .topic2(to.into_word());
    provider.get_logs(&filter).await.ok().map(|logs| !logs.is_empty())
}

/// Code that makes an address a contract. An EIP-7702 delegation (0xef0100 + address) does not:
/// the account is still controlled by a key.
fn has_code(code: &[u8]) -> bool {
    let delegation = code.len() == 23 && code.starts_with(&[0xef, 0x01, 0x00]);
    !code.is_empty() && !delegation
}

/// One call of an `eth_simulateV1` block, in the JSON the spec defines.
fn call_json(from: Address, to: Address, value: U256, data: &[u8], gas: Option<u64>) -> Value {
    let mut call = json!({
        "from": from,
        "to": to,
        "value": format!("{value:#x}"),
        "input": hex::encode_prefixed(data),
    });
    if let Some(gas) = gas {
        call["gas"] = json!(format!("{gas:#x}"));
    }
    call
}

/// An `eth_simulateV1` result block, reduced to what aomi reads (nodes add their own block fields).
#[derive(Debug, Deserialize)]
struct SimBlock {
    calls: Vec<SimCall>,
}

/// One call's result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimCall {
    #[serde(default)]
    return_data: Bytes,
    #[serde(default)]
    logs: Vec<SimLog>,
    gas_used: U64,
    status: U64,
    #[serde(default)]
    error: Option<SimError>,
}

impl SimCall {
    /// The revert data: the return data, or the error's `data` where a node puts it there.
    fn revert_data(&self) -> Bytes {
        if !self.return_data.is_empty() {
            return self.return_data.clone();
        }
        self.error
            .as_ref()
            .and_then(|e| e.data.as_ref())
            .and_then(Value::as_str)
            .and_then(|text| hex::decode(text).ok())
            .map(Bytes::from)
            .unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
struct SimLog {
    address: Address,
    topics: Vec<alloy::primitives::B256>,
    #[serde(default)]
    data: Bytes,
}

#[derive(Debug, Deserialize)]
struct SimError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

/// Why an `eth_simulateV1` request did not give results.
#[derive(Debug)]
enum SimFailure {
    /// The node does not have the method.
    Unsupported,
    /// The node refused the transaction before running it (insufficient funds, intrinsic gas).
    Rejected(String),
    /// Any other RPC failure.
    Rpc(RpcError<TransportErrorKind>),
}

/// Runs `calls` in one simulated block on top of `block`; returns the calls' results.
async fn simulate_calls(
    provider: &ChainProvider,
    calls: Vec<Value>,
    block: BlockNumberOrTag,
) -> Result<Vec<SimCall>, SimFailure> {
    let payload = json!({
        "blockStateCalls": [{ "calls": calls }],
        "traceTransfers": true,
        "validation": false,
    });
    let blocks: Vec<SimBlock> =
        provider.client().request("eth_simulateV1", (payload, block)).await.map_err(|error| match error {
            RpcError::ErrorResp(payload) => {
                let message = payload.message.to_ascii_lowercase();
                let unsupported = payload.code == -32601
                    || ["method not found", "not supported", "does not exist", "unsupported", "not available"]
                        .iter()
                        .any(|m| message.contains(m));
                let rejected = ["insufficient funds", "intrinsic gas", "gas too low", "nonce too"]
                    .iter()
                    .any(|m| message.contains(m));
                if unsupported {
                    SimFailure::Unsupported
                } else if rejected {
                    SimFailure::Rejected(payload.message.to_string())
                } else {
                    SimFailure::Rpc(RpcError::ErrorResp(payload))
                }
            }
            other => SimFailure::Rpc(other),
        })?;
    let block = blocks
        .into_iter()
        .next()
        .ok_or_else(|| SimFailure::Rpc(RpcError::local_usage_str("eth_simulateV1 answered no block")))?;
    Ok(block.calls)
}
