//! `simulate`: a transaction prepared and simulated, never sent.
//!
//! The stand-in for the wallet tool where there is no wallet to hand a request to (aomi's MCP
//! server): it builds the same request `send_transaction_to_wallet` builds (same arguments, same
//! checks, through [`SendTransactionToWallet::build_on`]), simulates it, and returns the
//! **unsigned** request with its simulation report. Nothing is signed, sent or recorded: whoever
//! called decides, with their own wallet.

use std::sync::Arc;
use std::time::Duration;

use aomi_chain::ChainSessions;
use aomi_chain::simulation::{SimulationReport, SimulationRequest, simulate};
use aomi_core::{Address, ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::wallet::{SendArgs, TransactionRequest};
use super::{SendTransactionToWallet, failed};

/// How long building and simulating may take.
const TIMEOUT: Duration = Duration::from_secs(45);

/// The arguments of `simulate`: those of `send_transaction_to_wallet`, a sender and a network.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateArgs {
    /// sender: 0x address; default: the signed-in wallet
    #[serde(default)]
    pub from: Option<Address>,
    /// recipient or contract: 0x address or ENS name
    pub to: String,
    /// native coin to send, in wei, as a decimal string (default 0)
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub value: Option<Value>,
    /// function to call, like transfer(address,uint256)
    #[serde(default)]
    pub signature: Option<String>,
    /// the function's arguments: integers as decimal strings in base units
    #[serde(default)]
    pub args: Vec<Value>,
    /// raw calldata (0x-hex), instead of signature + args
    #[serde(default)]
    pub data: Option<String>,
    /// gas limit; default: estimated by the simulation
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gas: Option<Value>,
    /// one sentence: what this transaction does
    #[serde(default)]
    pub description: Option<String>,
    /// Network name (ethereum, base, devnet, …) or chain id; default: the server's default network.
    #[serde(default)]
    pub network: Option<String>,
}

/// What `simulate` returns: the unsigned request and what it would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreparedTransaction {
    /// The unsigned transaction request, as a wallet would be asked to sign it.
    pub request: TransactionRequest,
    /// What it would do if sent now.
    pub simulation: SimulationReport,
}

/// `simulate`: builds a transaction request and simulates it; nothing is sent.
#[derive(Debug, Clone)]
pub struct Simulate(SendTransactionToWallet);

impl Simulate {
    /// The tool over these sessions.
    pub fn new(sessions: Arc<ChainSessions>) -> Self {
        Simulate(SendTransactionToWallet(sessions))
    }
}

impl TypedTool for Simulate {
    const NAME: &'static str = "simulate";
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);
    type Args = SimulateArgs;
    type Output = PreparedTransaction;

    fn description(&self) -> String {
        String::from(
            "Prepares a transaction and simulates it without sending it: returns the UNSIGNED request (chain id, to, \
             value, calldata) and its simulation report (success or the decoded revert, gas, asset changes, \
             approvals, risk warnings). Nothing is signed or sent; a wallet must sign the request. For a contract \
             call give signature + args; for a plain transfer give value only. Amounts are integers in base units.",
        )
    }

    async fn run(&self, args: SimulateArgs, ctx: ToolContext) -> Result<ToolOutput<PreparedTransaction>, ToolError> {
        let from = args.from.or_else(|| ctx.wallet.as_ref().and_then(|w| w.address)).ok_or_else(|| {
            ToolError::InvalidArguments("\"from\" is required: no wallet is signed in to simulate from".into())
        })?;
        let send = SendArgs {
            to: args.to,
            value: args.value,
            signature: args.signature,
            args: args.args,
            data: args.data,
            gas: args.gas,
            description: args.description.filter(|d| !d.trim().is_empty()).unwrap_or_else(|| "a transaction".into()),
            override_failed_simulation: None,
        };
        let built = self.0.build_on(&send, &ctx, args.network.as_deref()).await?;
        let mut request = built.output.data;
        request.from = Some(from.into_alloy());
        let gas = built
            .gas
            .map(|gas| {
                u64::try_from(gas).map_err(|_| ToolError::InvalidArguments("gas is too large for a gas limit".into()))
            })
            .transpose()?;
        let simulation = SimulationRequest {
            chain_id: request.chain_id,
            from: from.into_alloy(),
            to: request.to,
            value: built.value,
            data: built.data,
            gas,
            wallet_chain_id: None,
        };
        ctx.progress("simulating the transaction");
        let connection = self.0.0.connection(&ctx.chat_id, Some(&request.chain_id.to_string())).map_err(failed)?;
        let report = simulate(&connection, self.0.0.contracts(), &simulation).await.map_err(failed)?;
        let summary = format!(
            "Not sent (an unsigned request for a wallet to sign): {} on {}.\n{}",
            request.description,
            request.network,
            report.summary()
        );
        Ok(ToolOutput::new(PreparedTransaction { request, simulation: report }, summary))
    }
}
