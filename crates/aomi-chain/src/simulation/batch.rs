//! A batch of transactions simulated in order, as one: an approval and the swap that spends it.
//!
//! [`simulate_batch`] runs every step in **one** `eth_simulateV1` block, in order, so each step
//! sees the state the previous ones leave (the swap sees the allowance the approval sets, before
//! either is mined). It reports each step (success, the decoded revert, gas, logs) and the
//! batch's **net** asset changes and approvals, read as the single-transaction engine reads them:
//! a second simulated block reads the tokens' decimals and symbols and the holders' balances
//! before the first step and after the last, so ERC20 changes are balance differences, not what
//! the events claim. The rules of [`risk`](crate::risk) run on the net result.
//!
//! A node without `eth_simulateV1` cannot run a batch in order (an `eth_call` of the second step
//! does not see the first): that is an error, not a limited report.

use std::collections::BTreeSet;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, Bytes, LogData, U256};
use alloy::providers::Provider;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::error::ChainError;
use crate::risk::{self, Facts, RiskInput, Warning};
use crate::session::{Connection, KnownContracts};
use crate::simulation::calldata::minimum_outputs;
use crate::simulation::changes::{approvals, asset_changes};
use crate::simulation::engine::{METHOD_SIMULATE, Mode};
use crate::simulation::events::read_logs;
use crate::simulation::reads::ReadPlan;
use crate::simulation::report::{Amount, Approval, AssetChange, DecodedLog, Revert, SimulationReport};
use crate::simulation::request::SimulationRequest;
use crate::simulation::revert;
use crate::simulation::rpc::{SimFailure, call_json, simulate_calls};

/// One transaction of a batch, sent by the batch's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStep {
    /// The recipient or contract called.
    pub to: Address,
    /// Native coin sent, in wei.
    pub value: U256,
    /// Calldata.
    pub data: Bytes,
    /// The gas limit, when set.
    pub gas: Option<u64>,
}

/// What one step did in the batch's simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// Its position in the batch, from 0.
    pub index: usize,
    /// True when it succeeds after the steps before it.
    pub success: bool,
    /// Why it fails, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<Revert>,
    /// Gas it uses.
    pub gas_used: u64,
    /// Its logs, decoded where the event is known.
    pub logs: Vec<DecodedLog>,
}

/// The result of simulating a batch in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    /// The chain simulated on.
    pub chain_id: u64,
    /// The block the batch was simulated on top of.
    pub block_number: u64,
    /// `eth_simulateV1`.
    pub method: String,
    /// True when every step succeeds.
    pub success: bool,
    /// Each step, in order.
    pub steps: Vec<StepReport>,
    /// The network's gas price at simulation time, in wei (decimal string).
    pub gas_price: String,
    /// The steps' gas times the gas price, in the native coin.
    pub estimated_fee: Amount,
    /// The batch's net balance changes per address and asset, the fee excluded.
    pub asset_changes: Vec<AssetChange>,
    /// Allowances and operators the batch sets, in order.
    pub approvals: Vec<Approval>,
    /// What the person should know before signing, on the batch as a whole.
    pub warnings: Vec<Warning>,
}

impl BatchReport {
    /// Whether a warning of level danger fired.
    pub fn has_danger(&self) -> bool {
        self.warnings.iter().any(|w| w.level == risk::Level::Danger)
    }

    /// The report in a few lines, as the model reads it.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        for step in &self.steps {
            let outcome = match (&step.revert, step.success) {
                (_, true) => format!("succeeds ({} gas)", step.gas_used),
                (Some(revert), false) => format!("FAILS: {}", revert.reason),
                (None, false) => "FAILS".to_owned(),
            };
            lines.push(format!("Step {}: {outcome}.", step.index + 1));
        }
        let changes: Vec<String> = self
            .asset_changes
            .iter()
            .map(|c| format!("{} {}", crate::simulation::report::short(&c.address), c.formatted))
            .collect();
        if !changes.is_empty() {
            lines.push(format!("Net changes: {}.", changes.join(", ")));
        }
        lines.push(format!("Estimated fee: {}.", self.estimated_fee.formatted));
        for warning in &self.warnings {
            lines.push(format!("[{}] {}: {}", warning.level, warning.id, warning.message));
        }
        lines.join("\n")
    }
}

/// Simulates `steps`, sent by `from` on `chain_id`, in order in one block. `wallet_chain_id` is the
/// chain the wallet is on, when known (a batch for another chain is a risk).
pub async fn simulate_batch(
    connection: &Connection,
    known: &KnownContracts,
    chain_id: u64,
    from: Address,
    steps: &[BatchStep],
    wallet_chain_id: Option<u64>,
) -> Result<BatchReport, ChainError> {
    let network = &connection.network;
    if network.chain_id != chain_id {
        return Err(ChainError::InvalidInput(format!(
            "the batch is for chain id {chain_id} but the connection is to {} (chain id {})",
            network.name, network.chain_id
        )));
    }
    let Some(last) = steps.last() else {
        return Err(ChainError::InvalidInput("the batch is empty: stage a transaction first".into()));
    };
    let provider = &connection.provider;
    let rpc = |error| ChainError::from_rpc(error, network, None);
    let txs: Vec<serde_json::Value> = steps.iter().map(|s| call_json(from, s.to, s.value, &s.data, s.gas)).collect();
    let (first, latest, gas_price, sender_balance) = tokio::join!(
        simulate_calls(provider, txs.clone(), BlockNumberOrTag::Latest),
        provider.get_block_number(),
        provider.get_gas_price(),
        provider.get_balance(from),
    );
    let latest = latest.map_err(rpc)?;
    let gas_price = U256::from(gas_price.map_err(rpc)?);
    let calls = match first {
        Ok(calls) if calls.len() == steps.len() => calls,
        Ok(calls) => {
            return Err(ChainError::Rpc {
                network: network.name.clone(),
                message: format!("eth_simulateV1 answered {} results for {} calls", calls.len(), steps.len()),
            });
        }
        Err(SimFailure::Unsupported) => {
            return Err(ChainError::Rpc {
                network: network.name.clone(),
                message: "this network's RPC cannot simulate transactions (no eth_simulateV1), so a batch cannot be simulated in order".into(),
            });
        }
        Err(SimFailure::Rejected(message)) => {
            return Err(ChainError::InvalidInput(format!("the node refused the batch: {message}")));
        }
        Err(SimFailure::Rpc(error)) => return Err(rpc(error)),
    };

    let mut reports = Vec::new();
    let mut all_logs: Vec<(Address, LogData)> = Vec::new();
    let mut gas_total: u64 = 0;
    for (index, (call, step)) in calls.into_iter().zip(steps).enumerate() {
        let gas_used = call.gas_used.to::<u64>();
        gas_total = gas_total.saturating_add(gas_used);
        let success = call.succeeded();
        let abi = known.get(chain_id, step.to).map(|c| c.abi);
        let revert = (!success).then(|| {
            let data = call.revert_data();
            if data.is_empty() {
                let message = call.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default();
                revert::without_data(message, gas_used, step.gas)
            } else {
                revert::decode(&data, abi.as_deref())
            }
        });
        let logs: Vec<(Address, LogData)> = if success {
            call.logs.into_iter().map(|log| (log.address, LogData::new_unchecked(log.topics, log.data))).collect()
        } else {
            Vec::new()
        };
        let decoded = read_logs(&logs, chain_id, known).logs;
        all_logs.extend(logs);
        reports.push(StepReport { index, success, revert, gas_used, logs: decoded });
    }
    let success = reports.iter().all(|r| r.success);
    // A failed step moves nothing, but the batch as sent would still run the others: the net
    // changes are those of the steps that succeed.
    let movements = read_logs(&all_logs, chain_id, known);
    let plan = ReadPlan::for_movements(&movements);
    let spenders: Vec<Address> = movements
        .approvals
        .iter()
        .filter(|a| a.granted && a.owner == from)
        .map(|a| a.spender)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let base = BlockNumberOrTag::Number(latest);
    let (reads, codes) = tokio::join!(
        plan.run(provider, Mode::Simulate, &txs, base),
        join_all(spenders.iter().map(|a| async move { provider.get_code_at(*a).await })),
    );
    let native = &network.native;
    let mut mismatches = Vec::new();
    let mut changes = asset_changes(&movements, &reads, native, &mut mismatches);
    changes.sort_by_key(|c| c.address != from);
    let fee = U256::from(gas_total).saturating_mul(gas_price);
    let value: U256 = steps.iter().map(|s| s.value).fold(U256::ZERO, |a, b| a.saturating_add(b));

    // The rules see the batch as one transaction from `from`: its total value, its net changes
    // and approvals, every step's minimum outputs.
    let request =
        SimulationRequest { chain_id, from, to: last.to, value, data: Bytes::new(), gas: None, wallet_chain_id };
    let first_failure = reports.iter().find(|r| !r.success).and_then(|r| r.revert.clone()).map(|mut revert| {
        if let Some(index) = reports.iter().position(|r| !r.success) {
            revert.reason = format!("step {} of {}: {}", index + 1, steps.len(), revert.reason);
        }
        revert
    });
    let whole = SimulationReport {
        chain_id,
        block_number: Some(latest),
        method: METHOD_SIMULATE.to_owned(),
        success,
        revert: first_failure,
        gas_used: Some(gas_total),
        gas_price: gas_price.to_string(),
        estimated_fee: Some(Amount::new(fee, native.decimals, &native.symbol)),
        asset_changes: changes.clone(),
        approvals: approvals(&movements.approvals, &reads),
        logs: Vec::new(),
        warnings: Vec::new(),
    };
    let facts = Facts {
        native_symbol: native.symbol.clone(),
        native_decimals: native.decimals,
        fee: Some(fee),
        to_is_contract: None,
        sender_balance: sender_balance.ok(),
        has_code: spenders.iter().zip(codes).filter_map(|(a, code)| code.ok().map(|c| (*a, !c.is_empty()))).collect(),
        minimum_outputs: steps
            .iter()
            .flat_map(|s| minimum_outputs(&s.data, known.get(chain_id, s.to).map(|c| c.abi).as_deref()))
            .collect(),
        balance_mismatches: mismatches,
        history_blocks: 0,
        ..Facts::default()
    };
    let warnings = risk::assess(&RiskInput { request: &request, report: &whole, facts: &facts });
    Ok(BatchReport {
        chain_id,
        block_number: latest,
        method: METHOD_SIMULATE.to_owned(),
        success,
        steps: reports,
        gas_price: gas_price.to_string(),
        estimated_fee: Amount::new(fee, native.decimals, &native.symbol),
        asset_changes: changes,
        approvals: whole.approvals,
        warnings,
    })
}
