//! `resolve_ens` and `lookup_address`, through alloy's ENS support, where the network has ENS.

use std::sync::Arc;

use aomi_chain::alloy::ens::ProviderEnsExt;
use aomi_chain::alloy::primitives::Address;
use aomi_chain::{ChainError, ChainSessions, Connection};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{NETWORK_ARGUMENT, connection, failed, short};

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

/// The arguments of `resolve_ens`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameArgs {
    /// an ENS name, like vitalik.eth
    pub name: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The arguments of `lookup_address`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressArgs {
    /// a 0x address
    pub address: aomi_core::Address,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `resolve_ens` and `lookup_address`: a name and its address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnsRecord {
    /// The ENS name (lower case).
    pub name: String,
    /// The address it points to (or whose primary name it is).
    #[schema(value_type = String)]
    pub address: Address,
    /// The network read.
    pub network: String,
}

/// `resolve_ens`: the address of an ENS name.
#[derive(Debug, Clone)]
pub struct ResolveEns(pub Arc<ChainSessions>);

impl TypedTool for ResolveEns {
    const NAME: &'static str = "resolve_ens";
    type Args = NameArgs;
    type Output = EnsRecord;

    fn description(&self) -> String {
        "The address an ENS name (vitalik.eth) points to. Works on networks with ENS (ethereum, sepolia).".into()
    }

    async fn run(&self, args: NameArgs, ctx: ToolContext) -> Result<ToolOutput<EnsRecord>, ToolError> {
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
        let summary = format!("{name} is {address} on {}", conn.network.name);
        Ok(ToolOutput::new(EnsRecord { name, address, network: conn.network.name.clone() }, summary))
    }
}

/// `lookup_address`: the primary ENS name of an address.
#[derive(Debug, Clone)]
pub struct LookupAddress(pub Arc<ChainSessions>);

impl TypedTool for LookupAddress {
    const NAME: &'static str = "lookup_address";
    type Args = AddressArgs;
    type Output = EnsRecord;

    fn description(&self) -> String {
        "The primary ENS name of an address (reverse resolution), on networks with ENS.".into()
    }

    async fn run(&self, args: AddressArgs, ctx: ToolContext) -> Result<ToolOutput<EnsRecord>, ToolError> {
        let address = args.address.into_alloy();
        let conn = connection(&self.0, &ctx, args.network.as_deref())?;
        require_ens(&self.0, &conn).map_err(failed)?;
        let name = conn.provider.lookup_address(&address).await.map_err(|e| {
            ToolError::Failed(format!("{address} has no primary ENS name on {} ({e})", conn.network.name))
        })?;
        let summary = format!("{} is {name}", short(&address));
        Ok(ToolOutput::new(EnsRecord { name, address, network: conn.network.name.clone() }, summary))
    }
}
