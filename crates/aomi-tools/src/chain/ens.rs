//! `resolve_ens` and `lookup_address`, through alloy's ENS support, where the network has ENS.

use std::sync::Arc;

use aomi_chain::alloy::ens::ProviderEnsExt;
use aomi_chain::alloy::primitives::Address;
use aomi_chain::{ChainError, ChainSessions, Connection};
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{connection, failed, parse_address, parse_args, short, with_network};

/// Fails unless the connection's network has ENS.
fn require_ens(sessions: &ChainSessions, conn: &Connection) -> Result<(), ChainError> {
    if conn.network.ens {
        return Ok(());
    }
    let ens_networks: Vec<&str> =
        sessions.registry().networks().iter().filter(|n| n.ens).map(|n| n.name.as_str()).collect();
    Err(ChainError::EnsUnavailable { network: conn.network.name.clone(), ens_networks: ens_networks.join(", ") })
}

/// Resolves an ENS name on the connection's network.
pub(crate) async fn resolve_name(conn: &Connection, name: &str) -> Result<Address, ChainError> {
    if !conn.network.ens {
        return Err(ChainError::EnsUnavailable {
            network: conn.network.name.clone(),
            ens_networks: "ethereum, sepolia".into(),
        });
    }
    let address =
        conn.provider.resolve_name(name).await.map_err(|e| {
            ChainError::Ens(format!("the ENS name {name} does not resolve on {}: {e}", conn.network.name))
        })?;
    if address == Address::ZERO {
        return Err(ChainError::Ens(format!("the ENS name {name} has no address on {}", conn.network.name)));
    }
    Ok(address)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: String,
    #[serde(default)]
    network: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressArgs {
    address: String,
    #[serde(default)]
    network: Option<String>,
}

/// `resolve_ens`: the address of an ENS name.
#[derive(Debug, Clone)]
pub struct ResolveEns(pub Arc<ChainSessions>);

impl Tool for ResolveEns {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "resolve_ens".into(),
            description:
                "The address an ENS name (vitalik.eth) points to. Works on networks with ENS (ethereum, sepolia)."
                    .into(),
            parameters: with_network(
                json!({
                    "name": { "type": "string", "description": "an ENS name, like vitalik.eth" }
                }),
                &["name"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: NameArgs = parse_args(args)?;
            let name = args.name.trim().to_lowercase();
            if !name.contains('.') || name.starts_with('.') || name.ends_with('.') {
                return Err(ToolError::InvalidArguments(format!(
                    "\"{}\" is not an ENS name (like vitalik.eth)",
                    args.name
                )));
            }
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            require_ens(&self.0, &conn).map_err(failed)?;
            let address = resolve_name(&conn, &name).await.map_err(failed)?;
            Ok(ToolOutput::new(
                json!({ "name": name, "address": address, "network": conn.network.name }),
                format!("{name} is {address} on {}", conn.network.name),
            ))
        })
    }
}

/// `lookup_address`: the primary ENS name of an address.
#[derive(Debug, Clone)]
pub struct LookupAddress(pub Arc<ChainSessions>);

impl Tool for LookupAddress {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "lookup_address".into(),
            description: "The primary ENS name of an address (reverse resolution), on networks with ENS.".into(),
            parameters: with_network(
                json!({
                    "address": { "type": "string", "description": "a 0x address" }
                }),
                &["address"],
            ),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: AddressArgs = parse_args(args)?;
            let address = parse_address(&args.address).map_err(failed)?;
            let conn = connection(&self.0, &ctx, args.network.as_deref())?;
            require_ens(&self.0, &conn).map_err(failed)?;
            let name = conn.provider.lookup_address(&address).await.map_err(|e| {
                ToolError::Failed(format!("{address} has no primary ENS name on {} ({e})", conn.network.name))
            })?;
            Ok(ToolOutput::new(
                json!({ "address": address, "name": name, "network": conn.network.name }),
                format!("{} is {name}", short(&address)),
            ))
        })
    }
}
