//! `send_transaction_to_wallet`, simulated before it leaves the server.
//!
//! [`SimulateBeforeSend`] wraps the request builder ([`SendTransactionToWallet`]): once the request
//! is built it is simulated on its network, the report is streamed as a `data-simulation` part
//! (the report's fields plus `toolCallId` and a `summary`), and then:
//!
//! - the simulation succeeds and no warning is of level danger: the request goes to the wallet
//!   (the call stays open), with the report recorded next to it;
//! - the simulation fails, or a danger warning fires: the call ends with an error that holds the
//!   short summary (never the trace), so the model explains it instead of sending. If the person,
//!   knowing this, still wants to send, the model calls again with
//!   `"override_failed_simulation": true`, and the request goes to the wallet with the report;
//! - no wallet address is connected: nothing to simulate from; the request goes on, marked
//!   unsimulated.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::ChainSessions;
use aomi_chain::simulation::{SimulationReport, SimulationRequest, simulate};
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde_json::{Value, json};

use super::{SendTransactionToWallet, failed};

/// The argument the model sets only when the person insists on sending a transaction whose
/// simulation failed or raised a danger warning.
pub const OVERRIDE_ARGUMENT: &str = "override_failed_simulation";

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

/// Where requested transactions and their simulation reports are kept (the server connects the
/// store's transactions table here). A failure is logged; it does not hold the request back.
pub trait TransactionRecorder: Send + Sync {
    /// Records a request that goes to the wallet.
    fn record<'a>(&'a self, transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>>;
}

/// `send_transaction_to_wallet` with a simulation before the request reaches the wallet.
#[derive(Clone)]
pub struct SimulateBeforeSend {
    sessions: Arc<ChainSessions>,
    build: SendTransactionToWallet,
    recorder: Option<Arc<dyn TransactionRecorder>>,
}

impl std::fmt::Debug for SimulateBeforeSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateBeforeSend").field("recording", &self.recorder.is_some()).finish_non_exhaustive()
    }
}

impl SimulateBeforeSend {
    /// The tool over the chat sessions, recording nothing.
    pub fn new(sessions: Arc<ChainSessions>) -> Self {
        SimulateBeforeSend { build: SendTransactionToWallet(Arc::clone(&sessions)), sessions, recorder: None }
    }

    /// Records every request sent to the wallet, with its report, in `recorder`.
    pub fn recording_to(mut self, recorder: Arc<dyn TransactionRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    async fn run(&self, args: Value, ctx: ToolContext) -> Result<ToolOutput, ToolError> {
        let (args, insisted) = take_override(args)?;
        let mut output = self.build.call(args, ctx.clone()).await?;
        let request = &output.data;
        let Some(from) = request["from"].as_str().and_then(|a| a.parse().ok()) else {
            output.summary.push_str(" Not simulated: no wallet address is connected.");
            self.record(&ctx, &output.data, None).await;
            return Ok(output);
        };
        let simulation = SimulationRequest::from_json(&json!({
            "chainId": request["chainId"],
            "from": request["from"],
            "to": request["to"],
            "value": request["value"],
            "data": request["data"],
            "gas": request["gas"].as_str(),
        }))
        .map_err(failed)?;
        let simulation =
            SimulationRequest { from, wallet_chain_id: ctx.wallet.as_ref().map(|w| w.chain_id), ..simulation };

        ctx.progress("simulating the transaction");
        let connection =
            self.sessions.connection(&ctx.chat_id, Some(&simulation.chain_id.to_string())).map_err(failed)?;
        let report = match simulate(&connection, self.sessions.contracts(), &simulation).await {
            Ok(report) => report,
            Err(error) if insisted => {
                output.summary.push_str(&format!(" Not simulated ({error}); sent because you insisted."));
                self.record(&ctx, &output.data, None).await;
                return Ok(output);
            }
            Err(error) => {
                return Err(ToolError::Failed(format!(
                    "The transaction was NOT sent to the wallet: it could not be simulated ({error}). {}",
                    override_hint()
                )));
            }
        };
        let summary = report.summary();
        ctx.emit_data("simulation", streamed(&report, &ctx.tool_call_id, &summary));

        let blocked = !report.success || report.has_danger();
        if blocked && !insisted {
            return Err(ToolError::Failed(format!(
                "The transaction was NOT sent to the wallet: its simulation shows a problem.\n{summary}\n{}",
                override_hint()
            )));
        }
        self.record(&ctx, &output.data, serde_json::to_value(&report).ok()).await;
        let outcome = match (report.success, blocked) {
            (true, false) => "The simulation succeeds",
            (true, true) => "Sent despite the danger warnings, because you insisted",
            (false, _) => "Sent although the simulation fails, because you insisted",
        };
        output.summary = format!("{} {outcome}.", output.summary);
        Ok(output)
    }

    async fn record(&self, ctx: &ToolContext, request: &Value, simulation: Option<Value>) {
        let Some(recorder) = &self.recorder else { return };
        let transaction = RequestedTransaction {
            id: ctx.tool_call_id.clone(),
            chat_id: ctx.chat_id.clone(),
            chain_id: request["chainId"].as_u64().unwrap_or_default(),
            from: request["from"].as_str().map(str::to_lowercase),
            request: request.clone(),
            simulation,
        };
        if let Err(error) = recorder.record(transaction).await {
            tracing::warn!(%error, tool_call_id = %ctx.tool_call_id, "the transaction request was not recorded");
        }
    }
}

/// What the model is told about sending anyway.
fn override_hint() -> String {
    format!(
        "Explain this to the user in plain words. Only if the user, knowing this, explicitly asks to send it anyway, \
         call send_transaction_to_wallet again with the same arguments and \"{OVERRIDE_ARGUMENT}\": true."
    )
}

/// The `data-simulation` payload: the report, the call it belongs to, and its summary.
fn streamed(report: &SimulationReport, tool_call_id: &str, summary: &str) -> Value {
    let mut data = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut data {
        map.insert("toolCallId".into(), json!(tool_call_id));
        map.insert("summary".into(), json!(summary));
    }
    data
}

/// Splits the override flag off the builder's arguments.
fn take_override(args: Value) -> Result<(Value, bool), ToolError> {
    let Value::Object(mut map) = args else { return Ok((args, false)) };
    let insisted = match map.remove(OVERRIDE_ARGUMENT) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        Some(other) => {
            return Err(ToolError::InvalidArguments(format!(
                "\"{OVERRIDE_ARGUMENT}\" must be true or false, got {other}"
            )));
        }
    };
    Ok((Value::Object(map), insisted))
}

impl Tool for SimulateBeforeSend {
    fn spec(&self) -> ToolSpec {
        let mut spec = self.build.spec();
        spec.description.push_str(
            " The transaction is simulated first: if it would fail or a danger warning fires, it is not sent and you get the reason to explain.",
        );
        spec.parameters["properties"][OVERRIDE_ARGUMENT] = json!({
            "type": "boolean",
            "description": "Only when the user, after you explained a failed simulation or a danger warning, explicitly insists on sending this transaction anyway: true. Never set it on your own."
        });
        spec
    }

    fn timeout(&self) -> Option<Duration> {
        Some(TIMEOUT)
    }

    fn runs_on_client(&self) -> bool {
        true
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(args, ctx))
    }
}
