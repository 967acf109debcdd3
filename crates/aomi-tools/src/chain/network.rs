//! `switch_network`: moves the chat to another network for the rest of the turn, and asks the
//! front end to switch the wallet (a `data-network` part), so that the next turn's wallet context
//! agrees.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{failed, parse_args};

/// `switch_network`.
#[derive(Debug, Clone)]
pub struct SwitchNetwork(pub Arc<ChainSessions>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchArgs {
    #[serde(default)]
    network: Option<String>,
}

impl Tool for SwitchNetwork {
    fn spec(&self) -> ToolSpec {
        let names: Vec<&str> = self.0.registry().networks().iter().map(|n| n.name.as_str()).collect();
        ToolSpec {
            name: "switch_network".into(),
            description: format!(
                "Switches this chat to another network (and asks the user's wallet to follow). Without a network, lists the networks and the current one. Networks: {}.",
                names.join(", ")
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "network": { "type": "string", "description": "a network name or chain id" }
                },
                "additionalProperties": false
            }),
        }
    }

    fn call<'a>(&'a self, args: Value, ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args: SwitchArgs = parse_args(args)?;
            let session = self.0.session(&ctx.chat_id).map_err(failed)?;
            let previous = session.current().ok().map(|c| c.network.name.clone());
            let networks: Vec<Value> = self
                .0
                .registry()
                .networks()
                .iter()
                .map(|n| json!({ "name": n.name, "chainId": n.chain_id, "testnet": n.testnet }))
                .collect();
            let Some(asked) = args.network.filter(|n| !n.trim().is_empty()) else {
                let current = previous.clone().unwrap_or_else(|| "none (the wallet is on an unknown chain)".into());
                return Ok(ToolOutput::new(
                    json!({ "current": previous, "networks": networks }),
                    format!("This chat is on {current}"),
                ));
            };
            let connection = session.switch_network(&asked).map_err(failed)?;
            let network = &connection.network;
            ctx.emit_data("network", json!({ "chainId": network.chain_id, "name": network.name }));
            Ok(ToolOutput::new(
                json!({
                    "network": network.name,
                    "chainId": network.chain_id,
                    "previous": previous,
                    "native": network.native,
                    "explorer": network.explorer,
                    "testnet": network.testnet,
                }),
                format!("Switched to {} (chain id {})", network.name, network.chain_id),
            ))
        })
    }
}
