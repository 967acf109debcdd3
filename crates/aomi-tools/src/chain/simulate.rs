//! `send_transaction_to_wallet`, simulated before it leaves the server.
//!
//! [`SimulateBeforeSend`] wraps the request builder ([`SendTransactionToWallet`]): once the request
//! is built it is simulated on its network, the report is streamed as a `data-simulation` part
//! (the report's fields plus `toolCallId` and a `summary`), and then:
//!
//! - the simulation succeeds and no warning is of level danger: the request goes to the wallet
//!   (the call stays open), with the report recorded next to it;
//! - the simulation fails (or cannot run), or a danger warning fires: the request is *held back*.
//!   The call ends with an error that holds the short summary (never the trace), so the model
//!   explains it instead of sending, and the hold is recorded with the user message of the turn;
//! - no wallet address is connected: nothing to simulate from; the request goes on, marked
//!   unsimulated.
//!
//! **Only the user can override a hold.** The model may call again with
//! `"override_failed_simulation": true`, but the flag is honoured only when this same transaction
//! (chain, from, to, value, data) was held back earlier in this chat *and* the turn was started by a
//! user message other than the one the hold happened under: the person has seen the report and
//! spoken since. A first call, a second call in the same turn, or one in a turn that a wallet's
//! answer continued is held back like any first call. Model text can say anything (text from a
//! token name or a search result can steer it); only the turn's origin, which the server sets, says
//! the user spoke. Holds are kept by the [`TransactionRecorder`] (the store's transactions table
//! on a server), so the rule holds across turns and restarts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aomi_chain::ChainSessions;
use aomi_chain::simulation::calldata::TokenCall;
use aomi_chain::simulation::{SimulationOptions, SimulationReport, SimulationRequest, simulate_with};
use aomi_core::{BoxFuture, DataPart, ToolContext, ToolError, ToolOutput, TypedTool};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::wallet::{DESCRIPTION, SendArgs, TransactionRequest, WALLET_TOOL};
use super::{SendTransactionToWallet, failed};
use crate::guard::{GuardCheck, GuardDecision, GuardRequest, GuardedCall};
use crate::review::WalletChecks;

/// The argument the model sets only when the person insists on sending a transaction whose
/// simulation failed or raised a danger warning (honoured only after a user message, see the
/// module's documentation).
pub const OVERRIDE_ARGUMENT: &str = "override_failed_simulation";

/// How many holds a [`SimulateBeforeSend`] without a recorder remembers (the oldest go first).
const REMEMBERED_HOLDS: usize = 1024;

/// How long building, simulating and recording may take.
const TIMEOUT: Duration = Duration::from_secs(45);

/// A transaction request on its way to the wallet, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedTransaction {
    /// The tool call's id.
    pub id: String,
    /// The chat.
    pub chat_id: String,
    /// The chain it is for.
    pub chain_id: u64,
    /// The wallet's address, when connected.
    pub from: Option<String>,
    /// The request as streamed to the wallet.
    pub request: Value,
    /// Its simulation report, when simulated.
    pub simulation: Option<Value>,
}

/// A transaction request the simulation held back, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldTransaction {
    /// The request as built (`chainId`, `from`, `to`, `value`, `data`, …).
    pub request: Value,
    /// The id of the user message that started the turn it was held in; `None` in a turn that a
    /// wallet's answer continued.
    pub user_message: Option<String>,
}

/// Where requested transactions and their simulation reports are kept (the server connects the
/// store's transactions table here). A failure to record is logged; it does not hold a request
/// back, and a failure to read the holds leaves the override refused.
pub trait TransactionRecorder: Send + Sync {
    /// Records a request that goes to the wallet.
    fn record<'a>(&'a self, transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>>;

    /// Records a request the simulation held back (never sent to the wallet), with its report
    /// when it has one, held in a turn that `user_message` started.
    fn record_hold<'a>(
        &'a self,
        transaction: RequestedTransaction,
        user_message: Option<String>,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// The requests held back in the chat so far.
    fn holds<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<HeldTransaction>, String>>;
}

/// The holds of a tool without a recorder, in memory: the last [`REMEMBERED_HOLDS`] of them.
#[derive(Debug, Default)]
struct RememberedHolds(Mutex<VecDeque<(String, HeldTransaction)>>);

impl TransactionRecorder for RememberedHolds {
    fn record<'a>(&'a self, _transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn record_hold<'a>(
        &'a self,
        transaction: RequestedTransaction,
        user_message: Option<String>,
    ) -> BoxFuture<'a, Result<(), String>> {
        let result = match self.0.lock() {
            Ok(mut holds) => {
                if holds.len() == REMEMBERED_HOLDS {
                    holds.pop_front();
                }
                holds.push_back((transaction.chat_id, HeldTransaction { request: transaction.request, user_message }));
                Ok(())
            }
            Err(_) => Err("the list of holds is poisoned".to_owned()),
        };
        Box::pin(async move { result })
    }

    fn holds<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<HeldTransaction>, String>> {
        let result = match self.0.lock() {
            Ok(holds) => Ok(holds.iter().filter(|(chat, _)| chat == chat_id).map(|(_, held)| held.clone()).collect()),
            Err(_) => Err("the list of holds is poisoned".to_owned()),
        };
        Box::pin(async move { result })
    }
}

/// What makes two requests the same transaction: chain, sender, recipient, value and calldata.
#[derive(Debug, PartialEq, Eq)]
struct TransactionKey {
    chain_id: u64,
    from: String,
    to: String,
    value: String,
    data: String,
}

impl TransactionKey {
    /// The key of a built request (addresses and data in lower case); `None` without a sender.
    fn of(request: &Value) -> Option<Self> {
        let text = |key: &str| request[key].as_str().map(str::to_lowercase);
        Some(TransactionKey {
            chain_id: request["chainId"].as_u64()?,
            from: text("from")?,
            to: text("to")?,
            value: text("value").unwrap_or_else(|| "0".into()),
            data: text("data").filter(|d| d != "0x").unwrap_or_default(),
        })
    }
}

/// `send_transaction_to_wallet` with a simulation before the request reaches the wallet.
#[derive(Clone)]
pub struct SimulateBeforeSend {
    sessions: Arc<ChainSessions>,
    build: SendTransactionToWallet,
    recorder: Arc<dyn TransactionRecorder>,
    labels: Option<Arc<dyn crate::knowledge::Memory>>,
    checks: WalletChecks,
}

impl std::fmt::Debug for SimulateBeforeSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateBeforeSend").finish_non_exhaustive()
    }
}

impl SimulateBeforeSend {
    /// The tool over the chat sessions, recording nothing but its holds, in memory.
    pub fn new(sessions: Arc<ChainSessions>) -> Self {
        SimulateBeforeSend {
            build: SendTransactionToWallet(Arc::clone(&sessions)),
            sessions,
            recorder: Arc::new(RememberedHolds::default()),
            labels: None,
            checks: WalletChecks::default(),
        }
    }

    /// Prices the report's asset changes, applies the price-impact rule to them, and checks the
    /// wallet's spend guards before the wallet is asked.
    pub fn with_checks(mut self, checks: WalletChecks) -> Self {
        self.checks = checks;
        self
    }

    /// Gives the simulation the labels the wallet knows that look like the recipient, for the
    /// address-poisoning rule.
    pub fn with_labels(mut self, memory: Arc<dyn crate::knowledge::Memory>) -> Self {
        self.labels = Some(memory);
        self
    }

    /// The simulation's options: the labels of the recipient and of the addresses that look like
    /// it. A failure to read them is logged; the simulation runs without them.
    async fn options(&self, request: &SimulationRequest, owner: Option<aomi_core::Address>) -> SimulationOptions {
        let mut options = SimulationOptions::default();
        let Some(memory) = &self.labels else { return options };
        let recipient = match TokenCall::decode(&request.data) {
            Some(call) => call.recipient(),
            None if request.data.is_empty() => Some(request.to),
            None => None,
        };
        let Some(recipient) = recipient else { return options };
        match memory.look_alikes(owner, request.chain_id, recipient.into()).await {
            Ok(labels) => options.labels = labels.into_iter().map(|(a, l)| (a.into_alloy(), l)).collect(),
            Err(error) => tracing::warn!(%error, "labels could not be read for the simulation"),
        }
        options
    }

    /// Records every request sent to the wallet, with its report, and every hold in `recorder`,
    /// and reads the holds from it.
    pub fn recording_to(mut self, recorder: Arc<dyn TransactionRecorder>) -> Self {
        self.recorder = recorder;
        self
    }

    async fn send(&self, args: SendArgs, ctx: ToolContext) -> Result<ToolOutput<TransactionRequest>, ToolError> {
        let asked = args.override_failed_simulation.unwrap_or(false);
        let built = self.build.build(&args, &ctx).await?;
        let mut output = built.output;
        // The request as recorded and as compared with earlier holds.
        let recorded = serde_json::to_value(&output.data).unwrap_or(Value::Null);
        let Some(from) = output.data.from else {
            output.summary.push_str(" Not simulated: no wallet address is connected.");
            self.record(&ctx, &recorded, None).await;
            return Ok(output);
        };
        // The model's flag counts only when the user asked; otherwise this is a first call.
        let insisted = asked && self.user_overrides(&ctx, &recorded).await;
        let refused = if asked && !insisted { refused_override() } else { String::new() };
        let gas = built
            .gas
            .map(|gas| {
                u64::try_from(gas).map_err(|_| ToolError::InvalidArguments("gas is too large for a gas limit".into()))
            })
            .transpose()?;
        let simulation = SimulationRequest {
            chain_id: output.data.chain_id,
            from,
            to: output.data.to,
            value: built.value,
            data: built.data,
            gas,
            wallet_chain_id: ctx.wallet.as_ref().map(|w| w.chain_id),
        };

        ctx.progress("simulating the transaction");
        let connection =
            self.sessions.connection(&ctx.chat_id, Some(&simulation.chain_id.to_string())).map_err(failed)?;
        let owner = ctx.wallet.as_ref().and_then(|w| w.address);
        let options = self.options(&simulation, owner).await;
        let mut report = match simulate_with(&connection, self.sessions.contracts(), &simulation, options).await {
            Ok(report) => report,
            Err(error) if insisted => {
                let calls = [GuardedCall { to: output.data.to, data: simulation.data.clone() }];
                let request =
                    GuardRequest { wallet: from, calls: &calls, asset_changes: &[], warnings: &[], simulated: false };
                if let Some(check) = self.checks.guard(&ctx, &request).await.filter(GuardCheck::blocked) {
                    self.hold(&ctx, &recorded, None).await;
                    return Err(ToolError::Failed(check.refusal()));
                }
                output
                    .summary
                    .push_str(&format!(" Not simulated ({error}); sent because the user asked to send it anyway."));
                self.record(&ctx, &recorded, None).await;
                return Ok(output);
            }
            Err(error) => {
                self.hold(&ctx, &recorded, None).await;
                return Err(ToolError::Failed(format!(
                    "The transaction was NOT sent to the wallet: it could not be simulated ({error}). {refused}{}",
                    override_hint()
                )));
            }
        };
        self.checks.price(report.chain_id, from, &mut report.asset_changes, &mut report.warnings).await;
        let summary = report.summary();
        let success = report.success;
        let blocked = !success || report.has_danger();
        let stored = serde_json::to_value(&report).ok();
        ctx.emit(&SimulationPart {
            report: report.clone(),
            tool_call_id: ctx.tool_call_id.clone(),
            summary: summary.clone(),
        });

        if blocked && !insisted {
            self.hold(&ctx, &recorded, stored).await;
            return Err(ToolError::Failed(format!(
                "The transaction was NOT sent to the wallet: its simulation shows a problem.\n{summary}\n{refused}{}",
                override_hint()
            )));
        }
        // The guards read the simulated changes, never what the model says the request does; the
        // user's override of a failed simulation does not reach past them.
        let calls = [GuardedCall { to: output.data.to, data: simulation.data.clone() }];
        let request = GuardRequest {
            wallet: from,
            calls: &calls,
            asset_changes: &report.asset_changes,
            warnings: &report.warnings,
            simulated: true,
        };
        let check = self.checks.guard(&ctx, &request).await;
        if let Some(check) = check.as_ref().filter(|c| c.blocked()) {
            self.hold(&ctx, &recorded, stored).await;
            return Err(ToolError::Failed(check.refusal()));
        }
        self.record(&ctx, &recorded, stored).await;
        let outcome = match (success, blocked) {
            (true, false) => "The simulation succeeds",
            (true, true) => "Sent despite the danger warnings, because the user asked to send it anyway",
            (false, _) => "Sent although the simulation fails, because the user asked to send it anyway",
        };
        output.summary = format!("{} {outcome}.", output.summary);
        if check.as_ref().is_some_and(|c| c.decision == GuardDecision::Confirm) {
            output.summary.push_str(" The wallet's guards ask the user to confirm the warnings in the review first.");
        }
        Ok(output)
    }

    /// True when the user asked to send `request` anyway: the same transaction was held back
    /// earlier in this chat, and this turn's user message came after that hold.
    async fn user_overrides(&self, ctx: &ToolContext, request: &Value) -> bool {
        let (Some(message), Some(key)) = (ctx.origin.user_message(), TransactionKey::of(request)) else {
            return false;
        };
        match self.recorder.holds(&ctx.chat_id).await {
            Ok(holds) => holds.iter().any(|held| {
                held.user_message.as_deref() != Some(message)
                    && TransactionKey::of(&held.request).as_ref() == Some(&key)
            }),
            Err(error) => {
                tracing::warn!(%error, chat_id = %ctx.chat_id, "the holds could not be read; the override is refused");
                false
            }
        }
    }

    fn requested(ctx: &ToolContext, request: &Value, simulation: Option<Value>) -> RequestedTransaction {
        RequestedTransaction {
            id: ctx.tool_call_id.clone(),
            chat_id: ctx.chat_id.clone(),
            chain_id: request["chainId"].as_u64().unwrap_or_default(),
            from: request["from"].as_str().map(str::to_lowercase),
            request: request.clone(),
            simulation,
        }
    }

    async fn record(&self, ctx: &ToolContext, request: &Value, simulation: Option<Value>) {
        if let Err(error) = self.recorder.record(Self::requested(ctx, request, simulation)).await {
            tracing::warn!(%error, tool_call_id = %ctx.tool_call_id, "the transaction request was not recorded");
        }
    }

    async fn hold(&self, ctx: &ToolContext, request: &Value, simulation: Option<Value>) {
        let user_message = ctx.origin.user_message().map(str::to_owned);
        if let Err(error) = self.recorder.record_hold(Self::requested(ctx, request, simulation), user_message).await {
            tracing::warn!(%error, tool_call_id = %ctx.tool_call_id, "the held-back request was not recorded");
        }
    }
}

/// What the model is told about sending anyway.
fn override_hint() -> String {
    format!(
        "Explain this to the user in plain words. Only if the user, knowing this, replies that they want to send it \
         anyway, call send_transaction_to_wallet again with the same arguments and \"{OVERRIDE_ARGUMENT}\": true; \
         it is honoured only after such a reply from the user, never on your own."
    )
}

/// What the model is told when its override was not honoured.
fn refused_override() -> String {
    format!(
        "\"{OVERRIDE_ARGUMENT}\" was not honoured: only the user can send a held-back transaction anyway, in a \
         message written after seeing this report. "
    )
}

/// The `data-simulation` part: a wallet request's simulation report, the call it belongs to, and
/// the report in a few lines.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulationPart {
    /// The report.
    #[serde(flatten)]
    pub report: SimulationReport,
    /// The wallet tool call it belongs to.
    pub tool_call_id: String,
    /// The report in a few lines, as the model reads it.
    pub summary: String,
}

impl DataPart for SimulationPart {
    const NAME: &'static str = "simulation";
}

impl TypedTool for SimulateBeforeSend {
    const NAME: &'static str = WALLET_TOOL;
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);
    const RUNS_ON_CLIENT: bool = true;
    type Args = SendArgs;
    type Output = TransactionRequest;

    fn description(&self) -> String {
        format!(
            "{DESCRIPTION} The transaction is simulated first: if it would fail or a danger warning fires, it is not sent and you get the reason to explain."
        )
    }

    async fn run(&self, args: SendArgs, ctx: ToolContext) -> Result<ToolOutput<TransactionRequest>, ToolError> {
        self.send(args, ctx).await
    }
}
