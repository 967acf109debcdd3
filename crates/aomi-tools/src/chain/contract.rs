//! `get_contract`: what a contract is, from the contract database (the store, then Etherscan).
//!
//! The model gets a summary: the name, whether the source is verified, whether it is a proxy and
//! of what, and the functions (read-only or not) and events as signatures. The full ABI goes to
//! the page only, as a `data-contract` part, since a large ABI would fill the model's context for
//! nothing; fetching it also registers it, so `call_view_function` by name, simulations and log
//! decoding use it afterwards.

use std::sync::Arc;

use aomi_chain::alloy::json_abi::{JsonAbi, StateMutability};
use aomi_chain::{ChainSessions, ContractDb, ContractError, ExplorerError};
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{connection, failed, parse_args, resolve_address, short, with_network};

/// The most function or event signatures listed for the model; the rest are counted.
const MAX_LISTED: usize = 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    address: String,
    #[serde(default)]
    network: Option<String>,
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

impl Tool for GetContract {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_contract".into(),
            description: "Looks up a contract in aomi's contract database (Etherscan-verified source): its name, whether it is verified, whether it is a proxy and its implementation, and its functions (read-only or not) and events. Afterwards call_view_function accepts the contract's function names.".into(),
            parameters: with_network(
                json!({
                    "address": { "type": "string", "description": "the contract's 0x address or ENS name" }
                }),
                &["address"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: Args = parse_args(args)?;
            let conn = connection(&self.sessions, &ctx, args.network.as_deref())?;
            let address = resolve_address(&conn, &args.address).await.map_err(failed)?;
            let found = self.db.get_contract(self.sessions.contracts(), &conn, address).await.map_err(explain)?;
            let record = &found.record;
            let (read, write) = functions(&found.abi);
            let events: Vec<String> = found.abi.events().map(|e| e.full_signature()).collect();
            ctx.emit_data(
                "contract",
                json!({ "toolCallId": ctx.tool_call_id, "chainId": record.chain_id, "address": address, "abi": record.abi }),
            );
            let name = record.name.clone().unwrap_or_else(|| "unnamed contract".into());
            let proxy =
                record.implementation.map(|i| format!(", a proxy to {}", i.to_lowercase_hex())).unwrap_or_default();
            let summary = format!(
                "{} is {name}{proxy}: {} read-only and {} state-changing functions, {} events ({})",
                short(&address),
                read.len(),
                write.len(),
                events.len(),
                record.verified_by.as_deref().unwrap_or("unverified"),
            );
            Ok(ToolOutput::new(
                json!({
                    "address": address,
                    "network": conn.network.name,
                    "chainId": record.chain_id,
                    "name": record.name,
                    "verified": record.verified_by.is_some(),
                    "verifiedBy": record.verified_by,
                    "proxy": record.implementation.is_some(),
                    "implementation": record.implementation,
                    "readFunctions": listed(read),
                    "writeFunctions": listed(write),
                    "events": listed(events),
                    "errors": found.abi.errors().count(),
                    "fromCache": found.cached,
                    "fetchedAt": record.fetched_at,
                }),
                summary,
            ))
        })
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
