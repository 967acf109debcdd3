//! GET /api/networks: the networks this server reads, as a page or a client picks among them.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

/// GET /api/networks: `{"default": "<name>", "networks": [{"name", "chainId", "nativeCurrency":
/// {"name", "symbol", "decimals"}, "explorer", "ens", "testnet"}]}`; no RPC URL (one often
/// carries an API key). Without a chain layer the list is empty.
pub(crate) async fn list_networks(State(state): State<AppState>) -> Json<Value> {
    let Some(chain) = &state.chain else { return Json(json!({ "default": null, "networks": [] })) };
    let networks: Vec<Value> = chain
        .registry()
        .networks()
        .iter()
        .map(|network| {
            json!({
                "name": network.name,
                "chainId": network.chain_id,
                "nativeCurrency": {
                    "name": network.native.name,
                    "symbol": network.native.symbol,
                    "decimals": network.native.decimals,
                },
                "explorer": network.explorer,
                "ens": network.ens,
                "testnet": network.testnet,
            })
        })
        .collect();
    Json(json!({ "default": chain.default_network().name, "networks": networks }))
}
