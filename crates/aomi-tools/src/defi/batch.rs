//! The chat's pending batch: `stage_transaction`, `simulate_batch`, `send_batch_to_wallet`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::primitives::{Address, Bytes, U256, hex};
use aomi_chain::simulation::{BatchReport, BatchStep, simulate_batch};
use aomi_core::{DataPart, ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::chain::{SendArgs, SendTransactionToWallet, failed};
use crate::guard::{GuardCheck, GuardRequest, GuardedCall};
use crate::review::WalletChecks;

/// The name of the batch wallet tool.
pub const SEND_BATCH_TOOL: &str = "send_batch_to_wallet";

/// Steps a batch holds at most, by default.
pub const DEFAULT_MAX_STEPS: usize = 10;
/// Chats whose batches are kept at most, by default (the least recently staged go first).
pub const DEFAULT_MAX_CHATS: usize = 10_000;

/// One staged transaction, as the page lists it and the wallet receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StagedStep {
    /// The chain it is for.
    pub chain_id: u64,
    /// The recipient or contract called.
    #[schema(value_type = String)]
    pub to: Address,
    /// Native coin sent, in wei, decimal.
    pub value: String,
    /// Calldata, `0x` hex.
    pub data: String,
    /// What it does, for the user.
    pub description: String,
}

impl StagedStep {
    fn to_batch_step(&self) -> Result<BatchStep, ToolError> {
        let value =
            self.value.parse::<U256>().map_err(|_| ToolError::Failed("a staged value is not a number".into()))?;
        let data = hex::decode(&self.data).map_err(|_| ToolError::Failed("a staged calldata is not hex".into()))?;
        Ok(BatchStep { to: self.to, value, data: Bytes::from(data), gas: None })
    }
}

/// A chat's pending batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingBatch {
    /// The chain of its steps; `null` when empty.
    #[schema(required = true)]
    pub chain_id: Option<u64>,
    /// The steps, in the order they run.
    pub steps: Vec<StagedStep>,
}

/// `data-pending-batch`: the chat's pending batch after a change, for the page's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingBatchPart {
    /// The batch.
    #[serde(flatten)]
    pub batch: PendingBatch,
}

impl DataPart for PendingBatchPart {
    const NAME: &'static str = "pending-batch";
}

/// The pending batches of every chat, in memory, bounded in steps per batch and in chats.
#[derive(Debug)]
pub struct PendingBatches {
    batches: Mutex<HashMap<String, (u64, Vec<StagedStep>)>>,
    max_steps: usize,
    max_chats: usize,
}

impl Default for PendingBatches {
    fn default() -> Self {
        PendingBatches::with_limits(DEFAULT_MAX_STEPS, DEFAULT_MAX_CHATS)
    }
}

impl PendingBatches {
    /// Batches of at most `max_steps` steps, for at most `max_chats` chats (at least 1 each).
    pub fn with_limits(max_steps: usize, max_chats: usize) -> Self {
        PendingBatches { batches: Mutex::new(HashMap::new()), max_steps: max_steps.max(1), max_chats: max_chats.max(1) }
    }

    /// The chat's batch.
    pub fn get(&self, chat_id: &str) -> PendingBatch {
        let batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batch_of(batches.get(chat_id).map(|(_, steps)| steps.as_slice()).unwrap_or_default())
    }

    /// Appends `steps` to the chat's batch: all of them or, past the limit or on another chain
    /// than the batch's, none.
    pub fn stage(&self, chat_id: &str, steps: Vec<StagedStep>) -> Result<PendingBatch, ToolError> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        let next = batches.values().map(|(seq, _)| *seq).max().unwrap_or_default() + 1;
        if !batches.contains_key(chat_id) && batches.len() >= self.max_chats {
            let oldest = batches.iter().min_by_key(|(_, (seq, _))| *seq).map(|(chat, _)| chat.clone());
            if let Some(oldest) = oldest {
                batches.remove(&oldest);
            }
        }
        let entry = batches.entry(chat_id.to_owned()).or_default();
        if let (Some(first), Some(new)) = (entry.1.first(), steps.first())
            && first.chain_id != new.chain_id
        {
            return Err(ToolError::InvalidArguments(format!(
                "the pending batch is for chain id {}, this transaction for chain id {}: send or clear the batch first",
                first.chain_id, new.chain_id
            )));
        }
        if entry.1.len() + steps.len() > self.max_steps {
            return Err(ToolError::InvalidArguments(format!(
                "a batch holds at most {} transactions and this one has {}: send it first",
                self.max_steps,
                entry.1.len()
            )));
        }
        entry.0 = next;
        entry.1.extend(steps);
        Ok(batch_of(&entry.1))
    }

    /// Removes the step at `index` (from 0); the batch as it is then.
    pub fn remove(&self, chat_id: &str, index: usize) -> Result<PendingBatch, ToolError> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        let steps = batches.get_mut(chat_id).map(|(_, steps)| steps);
        match steps {
            Some(steps) if index < steps.len() => {
                steps.remove(index);
                Ok(batch_of(steps))
            }
            _ => Err(ToolError::InvalidArguments(format!("the pending batch has no step {}", index + 1))),
        }
    }

    /// Empties the chat's batch and returns what it held.
    pub fn take(&self, chat_id: &str) -> PendingBatch {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batch_of(&batches.remove(chat_id).map(|(_, steps)| steps).unwrap_or_default())
    }
}

fn batch_of(steps: &[StagedStep]) -> PendingBatch {
    PendingBatch { chain_id: steps.first().map(|s| s.chain_id), steps: steps.to_vec() }
}

/// The arguments of `stage_transaction`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageArgs {
    /// recipient or contract: 0x address or ENS name
    pub to: String,
    /// native coin to send, in wei, as a decimal string (default 0)
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub value: Option<Value>,
    /// function to call, like approve(address,uint256)
    #[serde(default)]
    pub signature: Option<String>,
    /// the function's arguments: integers as decimal strings in base units
    #[serde(default)]
    pub args: Vec<Value>,
    /// raw calldata (0x-hex), instead of signature + args
    #[serde(default)]
    pub data: Option<String>,
    /// one sentence shown to the user: what this transaction does
    pub description: String,
}

macro_rules! batch_tool {
    ($name:ident) => {
        #[derive(Clone)]
        #[doc = concat!("`", stringify!($name), "` over the chat sessions and their pending batches.")]
        pub struct $name {
            sessions: Arc<ChainSessions>,
            batches: Arc<PendingBatches>,
            checks: WalletChecks,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl $name {
            /// The tool over the chat sessions and their pending batches.
            pub fn new(sessions: Arc<ChainSessions>, batches: Arc<PendingBatches>) -> Self {
                $name { sessions, batches, checks: WalletChecks::default() }
            }

            /// Prices the simulated changes, applies the price-impact rule, and (sending) checks
            /// the wallet's spend guards.
            pub fn with_checks(mut self, checks: WalletChecks) -> Self {
                self.checks = checks;
                self
            }
        }
    };
}

batch_tool!(StageTransaction);
batch_tool!(SimulateBatch);
batch_tool!(SendBatchToWallet);

impl TypedTool for StageTransaction {
    const NAME: &'static str = "stage_transaction";
    type Args = StageArgs;
    type Output = PendingBatch;

    fn description(&self) -> String {
        "Adds a transaction to the chat's pending batch (on the chat's network), to be simulated with the others in order (simulate_batch) and sent to the wallet as one request (send_batch_to_wallet): use it for multi-step actions, like an approval followed by the call that spends it. Same arguments as send_transaction_to_wallet.".into()
    }

    async fn run(&self, args: StageArgs, ctx: ToolContext) -> Result<ToolOutput<PendingBatch>, ToolError> {
        let send = SendArgs {
            to: args.to,
            value: args.value,
            signature: args.signature,
            args: args.args,
            data: args.data,
            gas: None,
            description: args.description,
            override_failed_simulation: None,
        };
        let built = SendTransactionToWallet(Arc::clone(&self.sessions)).build(&send, &ctx).await?;
        let request = built.output.data;
        let step = StagedStep {
            chain_id: request.chain_id,
            to: request.to,
            value: request.value,
            data: request.data,
            description: request.description,
        };
        let batch = self.batches.stage(&ctx.chat_id, vec![step])?;
        ctx.emit(&PendingBatchPart { batch: batch.clone() });
        let summary = format!("Staged as step {} of the pending batch: {}", batch.steps.len(), send.description.trim());
        Ok(ToolOutput::new(batch, summary))
    }
}

/// The arguments of `simulate_batch` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `data-batch-simulation`: a batch's simulation report, the call it belongs to, and the report in
/// a few lines.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchSimulationPart {
    /// The report.
    #[serde(flatten)]
    pub report: BatchReport,
    /// The call it belongs to.
    pub tool_call_id: String,
    /// The report in a few lines, as the model reads it.
    pub summary: String,
}

impl DataPart for BatchSimulationPart {
    const NAME: &'static str = "batch-simulation";
}

/// How long simulating a batch may take.
const TIMEOUT: Duration = Duration::from_secs(45);

impl SimulateBatch {
    async fn simulate(&self, ctx: &ToolContext) -> Result<(PendingBatch, Address, BatchReport), ToolError> {
        let Some(from) = ctx.wallet.as_ref().and_then(|w| w.address).map(aomi_core::Address::into_alloy) else {
            return Err(ToolError::Failed(
                "no wallet is connected: a batch is simulated from the wallet's address".into(),
            ));
        };
        let batch = self.batches.get(&ctx.chat_id);
        let Some(chain_id) = batch.chain_id else {
            return Err(ToolError::Failed("the pending batch is empty: stage transactions first".into()));
        };
        let steps = batch.steps.iter().map(StagedStep::to_batch_step).collect::<Result<Vec<_>, _>>()?;
        ctx.progress(format!("simulating {} transactions in order", steps.len()));
        let connection = self.sessions.connection(&ctx.chat_id, Some(&chain_id.to_string())).map_err(failed)?;
        let wallet_chain = ctx.wallet.as_ref().map(|w| w.chain_id);
        let mut report = simulate_batch(&connection, self.sessions.contracts(), chain_id, from, &steps, wallet_chain)
            .await
            .map_err(failed)?;
        self.checks.price(chain_id, from, &mut report.asset_changes, &mut report.warnings).await;
        ctx.emit(&BatchSimulationPart {
            report: report.clone(),
            tool_call_id: ctx.tool_call_id.clone(),
            summary: report.summary(),
        });
        Ok((batch, from, report))
    }
}

impl TypedTool for SimulateBatch {
    const NAME: &'static str = "simulate_batch";
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);
    type Args = NoArgs;
    type Output = BatchReport;

    fn description(&self) -> String {
        "Simulates the chat's pending batch in order, as one (each step sees what the previous ones did, before any is mined): each step's outcome and the batch's net balance changes and warnings.".into()
    }

    async fn run(&self, _args: NoArgs, ctx: ToolContext) -> Result<ToolOutput<BatchReport>, ToolError> {
        let (_, _, report) = self.simulate(&ctx).await?;
        let summary = report.summary();
        Ok(ToolOutput::new(report, summary))
    }
}

/// One call of a batch request, in EIP-5792's `calls` shape (`value` in hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchCall {
    /// The recipient or contract called.
    #[schema(value_type = String)]
    pub to: Address,
    /// Native coin sent, in wei, `0x` hex (as `wallet_sendCalls` takes it).
    pub value: String,
    /// Calldata, `0x` hex.
    pub data: String,
    /// What it does, for the user.
    pub description: String,
}

/// The output of `send_batch_to_wallet` on the server: what the wallet is asked to send. The page
/// sends it as one EIP-5792 `wallet_sendCalls` (`{version: "2.0.0", chainId, from, atomicRequired,
/// calls}`) when `wallet_getCapabilities` says the wallet can, and follows `wallet_getCallsStatus`
/// until final; otherwise it sends the calls one after another, simulating each again
/// (`POST /api/simulate`) against the chain as it is then, and stops at the first that fails.
/// The call's final output is the wallet's answer (`{"id"}` of the calls, or `{"transactionHashes"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    /// The chain id, `0x` hex (as `wallet_sendCalls` takes it).
    pub chain_id: String,
    /// The network's name.
    pub network: String,
    /// The wallet's address.
    #[schema(value_type = String)]
    pub from: Address,
    /// Whether the calls must all land or none (asked when the wallet supports atomic batches).
    pub atomic_required: bool,
    /// The calls, in order.
    pub calls: Vec<BatchCall>,
    /// What the batch does, for the user.
    pub description: String,
}

/// The arguments of `send_batch_to_wallet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBatchArgs {
    /// one sentence shown to the user: what the whole batch does
    pub description: String,
}

impl TypedTool for SendBatchToWallet {
    const NAME: &'static str = SEND_BATCH_TOOL;
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);
    const RUNS_ON_CLIENT: bool = true;
    type Args = SendBatchArgs;
    type Output = BatchRequest;

    fn description(&self) -> String {
        "Sends the chat's pending batch to the user's wallet as one request (EIP-5792 wallet_sendCalls where the wallet supports it, else one transaction after another). The batch is simulated in order first: if a step would fail or a danger warning fires, nothing is sent and you get the reason to explain. The result is the wallet's answer, or the rejection.".into()
    }

    async fn run(&self, args: SendBatchArgs, ctx: ToolContext) -> Result<ToolOutput<BatchRequest>, ToolError> {
        if args.description.trim().is_empty() {
            return Err(ToolError::InvalidArguments("\"description\" must say what the batch does".into()));
        }
        let simulate =
            SimulateBatch::new(Arc::clone(&self.sessions), Arc::clone(&self.batches)).with_checks(self.checks.clone());
        let (batch, from, report) = simulate.simulate(&ctx).await?;
        if !report.success || report.has_danger() {
            return Err(ToolError::Failed(format!(
                "The batch was NOT sent to the wallet: its simulation shows a problem.\n{}\nExplain this to the user; change or remove the steps (stage again) before sending.",
                report.summary()
            )));
        }
        // The guards read the batch's simulated net changes, never what the model says it does.
        let guarded = batch.steps.iter().map(StagedStep::to_batch_step).collect::<Result<Vec<_>, _>>()?;
        let calls: Vec<GuardedCall> = guarded.into_iter().map(|s| GuardedCall { to: s.to, data: s.data }).collect();
        let request = GuardRequest {
            wallet: from,
            calls: &calls,
            asset_changes: &report.asset_changes,
            warnings: &report.warnings,
            simulated: true,
        };
        if let Some(check) = self.checks.guard(&ctx, &request).await.filter(GuardCheck::blocked) {
            return Err(ToolError::Failed(check.refusal()));
        }
        let network = self
            .sessions
            .registry()
            .for_chain_id(report.chain_id)
            .map(|n| n.name.clone())
            .unwrap_or_else(|_| report.chain_id.to_string());
        // What the wallet signs is exactly what was simulated: the batch is taken as it is.
        let taken = self.batches.take(&ctx.chat_id);
        if taken != batch {
            return Err(ToolError::Failed(
                "the pending batch changed while it was simulated: simulate it again".into(),
            ));
        }
        ctx.emit(&PendingBatchPart { batch: PendingBatch::default() });
        let calls: Vec<BatchCall> = batch
            .steps
            .iter()
            .map(|s| BatchCall {
                to: s.to,
                value: format!("{:#x}", s.value.parse::<U256>().unwrap_or_default()),
                data: s.data.clone(),
                description: s.description.clone(),
            })
            .collect();
        let summary = format!(
            "Waiting for your wallet: {} ({} call{} on {network}). The batch simulation succeeds.",
            args.description.trim(),
            calls.len(),
            if calls.len() == 1 { "" } else { "s" }
        );
        let request = BatchRequest {
            chain_id: format!("{:#x}", report.chain_id),
            network,
            from,
            atomic_required: false,
            calls,
            description: args.description.trim().to_owned(),
        };
        Ok(ToolOutput::new(request, summary))
    }
}
