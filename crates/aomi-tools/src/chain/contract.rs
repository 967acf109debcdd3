//! `get_contract`: what a contract is, from the contract database (the store, then Etherscan).
//!
//! The model gets a summary: the name, whether the source is verified, whether it is a proxy and
//! of what, and the functions (read-only or not) and events as signatures. The full ABI goes to
//! the page only, as a `data-contract` part, since a large ABI would fill the model's context for
//! nothing; fetching it also registers it, so `call_view_function` by name, simulations and log
//! decoding use it afterwards.

use std::sync::Arc;

use aomi_chain::alloy::json_abi::{JsonAbi, StateMutability};
use aomi_chain::alloy::primitives::Address;
use aomi_chain::{ChainSessions, ContractDb, ContractError, ExplorerError};
use aomi_core::{DataPart, ToolContext, ToolError, ToolOutput, TypedTool};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{NETWORK_ARGUMENT, connection, failed, resolve_address, short};

/// The most function or event signatures listed for the model; the rest are counted.
const MAX_LISTED: usize = 60;

/// The arguments of `get_contract`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractArgs {
    /// the contract's 0x address or ENS name
    pub address: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_contract`: what the model reads of a contract (the ABI goes to the page as
/// a [`ContractAbiPart`]).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractSummary {
    /// The contract (an ENS name resolved).
    #[schema(value_type = String)]
    pub address: Address,
    /// The network read.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// Its name, when verified.
    #[schema(required = true)]
    pub name: Option<String>,
    /// True when its source is verified.
    pub verified: bool,
    /// Who verified it (`etherscan`).
    #[schema(required = true)]
    pub verified_by: Option<String>,
    /// True for a proxy.
    pub proxy: bool,
    /// A proxy's implementation.
    #[schema(required = true)]
    pub implementation: Option<String>,
    /// Read-only functions (`view`, `pure`), with their outputs; a last entry counts any more.
    pub read_functions: Vec<String>,
    /// State-changing functions; a last entry counts any more.
    pub write_functions: Vec<String>,
    /// Events; a last entry counts any more.
    pub events: Vec<String>,
    /// How many custom errors the ABI declares.
    pub errors: usize,
    /// True when the contract database already held it.
    pub from_cache: bool,
    /// When it was fetched from the explorer.
    pub fetched_at: DateTime<Utc>,
}

/// The `data-contract` part: a contract's full ABI, for the page only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractAbiPart {
    /// The `get_contract` call it belongs to.
    pub tool_call_id: String,
    /// The contract's chain.
    pub chain_id: u64,
    /// The contract.
    #[schema(value_type = String)]
    pub address: Address,
    /// Its ABI (JSON).
    pub abi: Value,
}

impl DataPart for ContractAbiPart {
    const NAME: &'static str = "contract";
}

/// `get_contract`: a contract's name, verification, proxy status, functions and events.
#[derive(Debug, Clone)]
pub struct GetContract {
    sessions: Arc<ChainSessions>,
    db: Arc<ContractDb>,
}

impl GetContract {
    /// The tool over `sessions`, answering from `db`.
    pub fn new(sessions: Arc<ChainSessions>, db: Arc<ContractDb>) -> Self {
        GetContract { sessions, db }
    }
}

impl TypedTool for GetContract {
    const NAME: &'static str = "get_contract";
    type Args = ContractArgs;
    type Output = ContractSummary;

    fn description(&self) -> String {
        "Looks up a contract in aomi's contract database (Etherscan-verified source): its name, whether it is verified, whether it is a proxy and its implementation, and its functions (read-only or not) and events. Afterwards call_view_function accepts the contract's function names.".into()
    }

    async fn run(&self, args: ContractArgs, ctx: ToolContext) -> Result<ToolOutput<ContractSummary>, ToolError> {
        let conn = connection(&self.sessions, &ctx, args.network.as_deref())?;
        let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
        let found = self.db.get_contract(self.sessions.contracts(), &conn, address).await.map_err(explain)?;
        let record = &found.record;
        let (read, write) = functions(&found.abi);
        let events: Vec<String> = found.abi.events().map(|e| e.full_signature()).collect();
        ctx.emit(&ContractAbiPart {
            tool_call_id: ctx.tool_call_id.clone(),
            chain_id: record.chain_id,
            address,
            abi: record.abi.clone(),
        });
        let name = record.name.clone().unwrap_or_else(|| "unnamed contract".into());
        let proxy = record.implementation.map(|i| format!(", a proxy to {}", i.to_lowercase_hex())).unwrap_or_default();
        let summary = format!(
            "{} is {name}{proxy}: {} read-only and {} state-changing functions, {} events ({})",
            short(&address),
            read.len(),
            write.len(),
            events.len(),
            record.verified_by.as_deref().unwrap_or("unverified"),
        );
        Ok(ToolOutput::new(
            ContractSummary {
                address,
                network: conn.network.name.clone(),
                chain_id: record.chain_id,
                name: record.name.clone(),
                verified: record.verified_by.is_some(),
                verified_by: record.verified_by.clone(),
                proxy: record.implementation.is_some(),
                implementation: record.implementation.map(|i| i.to_lowercase_hex()),
                read_functions: listed(read),
                write_functions: listed(write),
                events: listed(events),
                errors: found.abi.errors().count(),
                from_cache: found.cached,
                fetched_at: record.fetched_at,
            },
            summary,
        ))
    }
}

/// Function signatures with their outputs, read-only (`view`, `pure`) first, then the others.
fn functions(abi: &JsonAbi) -> (Vec<String>, Vec<String>) {
    let (mut read, mut write) = (Vec::new(), Vec::new());
    for function in abi.functions() {
        let signature = function.full_signature();
        match function.state_mutability {
            StateMutability::View | StateMutability::Pure => read.push(signature),
            _ => write.push(signature),
        }
    }
    (read, write)
}

/// At most [`MAX_LISTED`] entries, the rest counted in a last entry.
fn listed(mut entries: Vec<String>) -> Vec<String> {
    if entries.len() > MAX_LISTED {
        let more = entries.len() - MAX_LISTED;
        entries.truncate(MAX_LISTED);
        entries.push(format!("… and {more} more"));
    }
    entries
}

/// The tool error for a failed lookup, with what the model can do instead.
fn explain(error: ContractError) -> ToolError {
    match error {
        ContractError::Chain(error) => failed(error),
        ContractError::Explorer(ExplorerError::NotVerified { .. }) => ToolError::Failed(format!(
            "{error}. Call its functions with call_view_function and a full signature, like balanceOf(address)(uint256)"
        )),
        other => ToolError::Failed(other.to_string()),
    }
}
