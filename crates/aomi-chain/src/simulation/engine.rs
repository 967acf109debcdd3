//! The engine: two rounds of requests, each sent at once, then a report.
//!
//! 1. `eth_simulateV1` of the transaction with `traceTransfers` (its outcome, gas, logs and native
//!    transfers), together with the block number, the gas price, the code at `to` and the
//!    sender's balance.
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

use std::collections::BTreeSet;

use alloy::eips::BlockNumberOrTag;
use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, LogData, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy::transports::RpcError;
use futures::future::join_all;

use crate::contracts::IERC20;
use crate::error::ChainError;
use crate::network::Network;
use crate::provider::ChainProvider;
use crate::risk::{self, Facts, RiskInput};
use crate::session::{Connection, KnownContracts};
use crate::simulation::calldata::{TokenCall, minimum_outputs};
use crate::simulation::changes::{approvals, asset_changes};
use crate::simulation::events::{ApprovalEvent, Move, Movements, read_logs};
use crate::simulation::reads::ReadPlan;
use crate::simulation::report::{Amount, Revert, SimulationReport, Standard};
use crate::simulation::request::SimulationRequest;
use crate::simulation::revert;
use crate::simulation::rpc::{SimCall, SimFailure, call_json, simulate_calls};

/// The method name in reports simulated by the node.
pub const METHOD_SIMULATE: &str = "eth_simulateV1";
/// The method name in limited reports.
pub const METHOD_CALL: &str = "eth_call";

/// An ERC20 allowance at least this large is "unlimited": 2^96 - 1 and above covers the
/// `type(uint256).max`, `type(uint128).max` and `type(uint96).max` that wallets and tokens use.
pub const UNLIMITED_ALLOWANCE: U256 = U256::from_limbs([u64::MAX, (1u64 << 32) - 1, 0, 0]);

/// Settings of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationOptions {
    /// How many recent blocks the "sent to this address before" check searches.
    pub history_blocks: u64,
    /// Addresses the sender knows by name (their labels, global and the wallet's own): the
    /// address-poisoning rule compares the recipient with them.
    pub labels: Vec<(Address, String)>,
}

impl Default for SimulationOptions {
    fn default() -> Self {
        SimulationOptions { history_blocks: 10_000, labels: Vec::new() }
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

    // First round: the transaction, and what the rules need that does not depend on it.
    let (first, latest, gas_price, to_code, sender_balance) = tokio::join!(
        simulate_calls(provider, vec![tx.clone()], BlockNumberOrTag::Latest),
        provider.get_block_number(),
        provider.get_gas_price(),
        provider.get_code_at(request.to),
        provider.get_balance(request.from),
    );
    // The base block is read, not derived from the simulated block's number: the spec makes that
    // the base + 1, anvil the base itself.
    let latest = latest.map_err(rpc)?;
    let gas_price = U256::from(gas_price.map_err(rpc)?);
    let to_is_contract = has_code(&to_code.map_err(rpc)?);
    let (mode, outcome) = match first {
        Ok(mut calls) if calls.len() == 1 => {
            (Mode::Simulate, Outcome::simulated(calls.remove(0), latest, request.gas, abi.as_deref()))
        }
        Ok(calls) => {
            return Err(ChainError::Rpc {
                network: network.name.clone(),
                message: format!("eth_simulateV1 answered {} results for one call", calls.len()),
            });
        }
        Err(SimFailure::Rejected(message)) => (Mode::Simulate, Outcome::failed(revert::rejected(&message), latest)),
        Err(SimFailure::Unsupported) => {
            (Mode::Call, Outcome::called(provider, request, abi.as_deref(), network, latest).await?)
        }
        Err(SimFailure::Rpc(error)) => return Err(rpc(error)),
    };
    let token_call = TokenCall::decode(&request.data);
    let movements = match mode {
        _ if !outcome.success => Movements::default(),
        Mode::Simulate => read_logs(&outcome.logs, request.chain_id, known),
        Mode::Call => predicted_movements(request, token_call.as_ref()),
    };

    // Second round, on the same block: token reads, the parties' code, history, the coin's part.
    let recipient = match &token_call {
        Some(call) => call.recipient(),
        None if request.data.is_empty() => Some(request.to),
        None => None,
    };
    let plan = ReadPlan::new(request, &movements, token_call.as_ref(), recipient);
    let code_targets: Vec<Address> = movements
        .approvals
        .iter()
        .filter(|a| a.granted && a.owner == request.from)
        .map(|a| a.spender)
        .chain(recipient)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let base = BlockNumberOrTag::Number(outcome.base_block);
    let (reads, codes, sent_before, past_recipients, succeeds_without_value) = tokio::join!(
        plan.run(provider, mode, if outcome.success { std::slice::from_ref(&tx) } else { &[] }, base),
        join_all(code_targets.iter().map(|a| async move { provider.get_code_at(*a).await })),
        async {
            let to = recipient?;
            sent_before(provider, request.from, to, outcome.base_block, options.history_blocks).await
        },
        async {
            recipient?;
            past_recipients(provider, request.from, outcome.base_block, options.history_blocks).await
        },
        async {
            // Only a failing call that carries coin (and calldata) to a contract is retried.
            let retry = mode == Mode::Simulate
                && !outcome.success
                && to_is_contract
                && !request.value.is_zero()
                && !request.data.is_empty();
            if !retry {
                return None;
            }
            let call = call_json(request.from, request.to, U256::ZERO, &request.data, request.gas);
            let calls = simulate_calls(provider, vec![call], base).await.ok()?;
            calls.first().map(SimCall::succeeded)
        },
    );

    // The report, then the rules on it.
    let native = &network.native;
    let mut mismatches = Vec::new();
    let mut changes = asset_changes(&movements, &reads, native, &mut mismatches);
    // The sender's own changes first: they are what the person signs for.
    changes.sort_by_key(|c| c.address != request.from);
    let fee = outcome.gas_used.map(|gas| U256::from(gas).saturating_mul(gas_price));
    let mut report = SimulationReport {
        chain_id: request.chain_id,
        block_number: Some(outcome.base_block),
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
        asset_changes: changes,
        approvals: approvals(&movements.approvals, &reads),
        logs: movements.logs,
        warnings: Vec::new(),
    };
    // A called "token" counts as an ERC20 only if it answers decimals(): an ERC721 shares the
    // transferFrom and approve selectors.
    let called_erc20 = plan.called_token.filter(|t| reads.decimals.contains_key(t));
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
        past_recipients: past_recipients.unwrap_or_default(),
        labels: options.labels.into_iter().collect(),
        has_code: code_targets.iter().zip(codes).filter_map(|(a, code)| Some((*a, has_code(&code.ok()?)))).collect(),
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
pub(crate) enum Mode {
    /// By `eth_simulateV1`.
    Simulate,
    /// By `eth_call`, on a node without `eth_simulateV1`.
    Call,
}

/// What running the transaction gave.
#[derive(Debug)]
struct Outcome {
    success: bool,
    revert: Option<Revert>,
    gas_used: Option<u64>,
    logs: Vec<(Address, LogData)>,
    /// The block the transaction ran on top of.
    base_block: u64,
}

impl Outcome {
    fn simulated(call: SimCall, base_block: u64, gas_limit: Option<u64>, abi: Option<&JsonAbi>) -> Self {
        let gas_used = call.gas_used.to::<u64>();
        let success = call.succeeded();
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
        Outcome { success, revert, gas_used: Some(gas_used), logs, base_block }
    }

    fn failed(revert: Revert, base_block: u64) -> Self {
        Outcome { success: false, revert: Some(revert), gas_used: None, logs: Vec::new(), base_block }
    }

    /// The limited outcome: `eth_call`, then `eth_estimateGas` when it succeeds.
    async fn called(
        provider: &ChainProvider,
        request: &SimulationRequest,
        abi: Option<&JsonAbi>,
        network: &Network,
        base_block: u64,
    ) -> Result<Self, ChainError> {
        let tx = request.transaction();
        match provider.call(tx.clone()).block(base_block.into()).await {
            Ok(_) => {
                let gas = provider.estimate_gas(tx).await.map_err(|e| ChainError::from_rpc(e, network, abi))?;
                Ok(Outcome { success: true, revert: None, gas_used: Some(gas), logs: Vec::new(), base_block })
            }
            Err(RpcError::ErrorResp(payload)) => {
                let revert = match payload.as_revert_data() {
                    Some(data) => revert::decode(&data, abi),
                    None if payload.message.contains("revert") => revert::without_data(&payload.message, 0, None),
                    None => revert::rejected(&payload.message),
                };
                Ok(Outcome::failed(revert, base_block))
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

/// Most past recipients the address-poisoning rule compares with: a bound on the work and memory
/// for a sender with a long history.
const MAX_PAST_RECIPIENTS: usize = 1000;

/// Everyone the sender sent a token to in the last `window` blocks up to `latest` (at most
/// [`MAX_PAST_RECIPIENTS`]); `None` when the node does not answer.
async fn past_recipients(provider: &ChainProvider, from: Address, latest: u64, window: u64) -> Option<Vec<Address>> {
    let filter = Filter::new()
        .from_block(latest.saturating_sub(window))
        .to_block(latest)
        .event_signature(IERC20::Transfer::SIGNATURE_HASH)
        .topic1(from.into_word());
    let logs = provider.get_logs(&filter).await.ok()?;
    let recipients: BTreeSet<Address> = logs
        .iter()
        .filter_map(|log| log.topics().get(2).map(|topic| Address::from_word(*topic)))
        .take(MAX_PAST_RECIPIENTS)
        .collect();
    Some(recipients.into_iter().collect())
}

/// Code that makes an address a contract. An EIP-7702 delegation (0xef0100 + address) does not:
/// the account is still controlled by a key.
pub(crate) fn has_code(code: &[u8]) -> bool {
    let delegation = code.len() == 23 && code.starts_with(&[0xef, 0x01, 0x00]);
    !code.is_empty() && !delegation
}
