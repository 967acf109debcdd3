//! `switch_network`: moves the chat to another network for the rest of the turn, and asks the
//! front end to switch the wallet (a `data-network` part), so that the next turn's wallet context
//! agrees.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::network::NativeCurrency;
use aomi_core::{DataPart, ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::failed;

/// `switch_network`.
#[derive(Debug, Clone)]
pub struct SwitchNetwork(pub Arc<ChainSessions>);

/// The arguments of `switch_network`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchArgs {
    /// a network name or chain id
    #[serde(default)]
    pub network: Option<String>,
}

/// The output of `switch_network`: the network switched to, or without a network asked, the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum NetworkChoice {
    /// The chat moved to another network.
    Switched(NetworkSwitched),
    /// The networks, and the chat's.
    Listed(NetworkListing),
}

/// The chat moved to another network.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSwitched {
    /// The network's name.
    pub network: String,
    /// Its chain id.
    pub chain_id: u64,
    /// The chat's network before; none when the wallet was on a chain aomi does not know.
    #[schema(required = true)]
    pub previous: Option<String>,
    /// Its native coin.
    #[schema(inline)]
    pub native: NativeCurrency,
    /// Its block explorer's base URL.
    #[schema(required = true)]
    pub explorer: Option<String>,
    /// True for a test network.
    pub testnet: bool,
}

/// The networks, and the chat's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkListing {
    /// The chat's network; none when the wallet is on a chain aomi does not know.
    #[schema(required = true)]
    pub current: Option<String>,
    /// Every network aomi reads.
    pub networks: Vec<NetworkEntry>,
}

/// A network of the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkEntry {
    /// Its name.
    pub name: String,
    /// Its chain id.
    pub chain_id: u64,
    /// True for a test network.
    pub testnet: bool,
}

/// The `data-network` part: asks the page to switch the wallet to this network.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPart {
    /// The chain to switch the wallet to.
    pub chain_id: u64,
    /// The network's name.
    pub name: String,
}

impl DataPart for NetworkPart {
    const NAME: &'static str = "network";
}

impl TypedTool for SwitchNetwork {
    const NAME: &'static str = "switch_network";
    type Args = SwitchArgs;
    type Output = NetworkChoice;

    fn description(&self) -> String {
        let names: Vec<&str> = self.0.registry().networks().iter().map(|n| n.name.as_str()).collect();
        format!(
            "Switches this chat to another network (and asks the user's wallet to follow). Without a network, lists the networks and the current one. Networks: {}.",
            names.join(", ")
        )
    }

    async fn run(&self, args: SwitchArgs, ctx: ToolContext) -> Result<ToolOutput<NetworkChoice>, ToolError> {
        let session = self.0.session(&ctx.chat_id).map_err(failed)?;
        let previous = session.current().ok().map(|c| c.network.name.clone());
        let Some(asked) = args.network.filter(|n| !n.trim().is_empty()) else {
            let networks = self
                .0
                .registry()
                .networks()
                .iter()
                .map(|n| NetworkEntry { name: n.name.clone(), chain_id: n.chain_id, testnet: n.testnet })
                .collect();
            let current = previous.clone().unwrap_or_else(|| "none (the wallet is on an unknown chain)".into());
            return Ok(ToolOutput::new(
                NetworkChoice::Listed(NetworkListing { current: previous, networks }),
                format!("This chat is on {current}"),
            ));
        };
        let connection = session.switch_network(&asked).map_err(failed)?;
        let network = &connection.network;
        ctx.emit(&NetworkPart { chain_id: network.chain_id, name: network.name.clone() });
        Ok(ToolOutput::new(
            NetworkChoice::Switched(NetworkSwitched {
                network: network.name.clone(),
                chain_id: network.chain_id,
                previous,
                native: network.native.clone(),
                explorer: network.explorer.clone(),
                testnet: network.testnet,
            }),
            format!("Switched to {} (chain id {})", network.name, network.chain_id),
        ))
    }
}
