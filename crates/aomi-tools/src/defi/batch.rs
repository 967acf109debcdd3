//! The chat's pending batch: `stage_transaction`, `simulate_batch`, `send_batch_to_wallet`.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::ChainSessions;
use aomi_chain::alloy::primitives::{Address, Bytes, U256, hex};
use aomi_chain::simulation::{BatchReport, BatchStep, simulate_batch};
use aomi_core::{BoxFuture, DataPart, ToolContext, ToolError, ToolOutput, TypedTool};
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

/// A step as kept: its place in the chat's batch (growing, not an index) and the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptStep {
    /// Its order among the chat's steps.
    pub ordinal: i64,
    /// The step.
    pub step: StagedStep,
}

/// What keeping staged steps did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Appended: the batch as it is now.
    Staged(Vec<KeptStep>),
    /// Nothing appended: the batch would exceed the limit; it holds `held` steps.
    Full {
        /// The steps the batch holds.
        held: usize,
    },
    /// Nothing appended: the batch holds steps for chain `chain_id`.
    OtherChain {
        /// The batch's chain.
        chain_id: u64,
    },
}

/// Where the chats' pending batches are kept: the store, which the server reaches for the tools
/// (`aomi_server::batches::StoreBatches`), so that a batch outlives a restart and every instance
/// sees it. Errors are plain text for the model.
pub trait BatchKeeper: Send + Sync {
    /// The chat's steps, in order.
    fn steps<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<KeptStep>, String>>;

    /// Appends `steps` (all for `chain_id`): all of them, or none past `max_steps` or on another
    /// chain than the batch's.
    fn stage<'a>(
        &'a self,
        chat_id: &'a str,
        chain_id: u64,
        steps: &'a [StagedStep],
        max_steps: usize,
    ) -> BoxFuture<'a, Result<Kept, String>>;

    /// Removes the step at `index` (from 0): the batch then, or `None` without such a step.
    fn remove<'a>(&'a self, chat_id: &'a str, index: usize) -> BoxFuture<'a, Result<Option<Vec<KeptStep>>, String>>;

    /// Empties the chat's batch if it is still `expected`; whether it did.
    fn take<'a>(&'a self, chat_id: &'a str, expected: &'a [KeptStep]) -> BoxFuture<'a, Result<bool, String>>;
}

/// The chats' pending batches, kept by a [`BatchKeeper`], bounded in steps per batch
/// (`batch_steps` of the configuration's `[limits]`).
#[derive(Clone)]
pub struct PendingBatches {
    keeper: Arc<dyn BatchKeeper>,
    max_steps: usize,
}

impl std::fmt::Debug for PendingBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingBatches").field("max_steps", &self.max_steps).finish_non_exhaustive()
    }
}

fn kept_error(error: String) -> ToolError {
    ToolError::Failed(format!("the pending batch could not be read or written: {error}"))
}

impl PendingBatches {
    /// Batches kept by `keeper`, of at most `max_steps` steps (at least 1).
    pub fn new(keeper: Arc<dyn BatchKeeper>, max_steps: usize) -> Self {
        PendingBatches { keeper, max_steps: max_steps.max(1) }
    }

    /// The most steps a batch holds.
    pub fn max_steps(&self) -> usize {
        self.max_steps
    }

    /// The chat's batch, with each step's place.
    pub async fn kept(&self, chat_id: &str) -> Result<Vec<KeptStep>, ToolError> {
        self.keeper.steps(chat_id).await.map_err(kept_error)
    }

    /// The chat's batch.
    pub async fn get(&self, chat_id: &str) -> Result<PendingBatch, ToolError> {
        Ok(batch_of(&self.kept(chat_id).await?))
    }

    /// Appends `steps` to the chat's batch: all of them or, past the limit or on another chain
    /// than the batch's, none.
    pub async fn stage(&self, chat_id: &str, steps: Vec<StagedStep>) -> Result<PendingBatch, ToolError> {
        let Some(chain_id) = steps.first().map(|s| s.chain_id) else { return self.get(chat_id).await };
        if let Some(other) = steps.iter().find(|s| s.chain_id != chain_id) {
            return Err(ToolError::InvalidArguments(format!(
                "steps for chain ids {chain_id} and {} cannot be one batch",
                other.chain_id
            )));
        }
        match self.keeper.stage(chat_id, chain_id, &steps, self.max_steps).await.map_err(kept_error)? {
            Kept::Staged(kept) => Ok(batch_of(&kept)),
            Kept::OtherChain { chain_id: batch_chain } => Err(ToolError::InvalidArguments(format!(
                "the pending batch is for chain id {batch_chain}, this transaction for chain id {chain_id}: send or clear the batch first"
            ))),
            Kept::Full { held } => Err(ToolError::InvalidArguments(format!(
                "a batch holds at most {} transactions and this one has {held}: send it first",
                self.max_steps
            ))),
        }
    }

    /// Removes the step at `index` (from 0); the batch as it is then.
    pub async fn remove(&self, chat_id: &str, index: usize) -> Result<PendingBatch, ToolError> {
        match self.keeper.remove(chat_id, index).await.map_err(kept_error)? {
            Some(kept) => Ok(batch_of(&kept)),
            None => Err(ToolError::InvalidArguments(format!("the pending batch has no step {}", index + 1))),
        }
    }

    /// Empties the chat's batch if it is still `expected` (what was simulated); whether it did.
    pub async fn take(&self, chat_id: &str, expected: &[KeptStep]) -> Result<bool, ToolError> {
        self.keeper.take(chat_id, expected).await.map_err(kept_error)
    }
}

/// The batch of these kept steps, as the page and the model see it.
pub fn batch_of(kept: &[KeptStep]) -> PendingBatch {
    PendingBatch {
        chain_id: kept.first().map(|s| s.step.chain_id),
        steps: kept.iter().map(|s| s.step.clone()).collect(),
    }
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
        let batch = self.batches.stage(&ctx.chat_id, vec![step]).await?;
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
    async fn simulate(&self, ctx: &ToolContext) -> Result<(Vec<KeptStep>, Address, BatchReport), ToolError> {
        let Some(from) = ctx.wallet.as_ref().and_then(|w| w.address).map(aomi_core::Address::into_alloy) else {
            return Err(ToolError::Failed(
                "no wallet is connected: a batch is simulated from the wallet's address".into(),
            ));
        };
        let kept = self.batches.kept(&ctx.chat_id).await?;
        let batch = batch_of(&kept);
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
        Ok((kept, from, report))
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
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
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
        let (kept, from, report) = simulate.simulate(&ctx).await?;
        if !report.success || report.has_danger() {
            return Err(ToolError::Failed(format!(
                "The batch was NOT sent to the wallet: its simulation shows a problem.\n{}\nExplain this to the user; change or remove the steps (stage again) before sending.",
                report.summary()
            )));
        }
        // The guards read the batch's simulated net changes, never what the model says it does.
        let guarded = kept.iter().map(|k| k.step.to_batch_step()).collect::<Result<Vec<_>, _>>()?;
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
        // What the wallet signs is exactly what was simulated: the batch is taken only as it was.
        if !self.batches.take(&ctx.chat_id, &kept).await? {
            return Err(ToolError::Failed(
                "the pending batch changed while it was simulated: simulate it again".into(),
            ));
        }
        ctx.emit(&PendingBatchPart { batch: PendingBatch::default() });
        let calls: Vec<BatchCall> = kept
            .iter()
            .map(|k| &k.step)
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
