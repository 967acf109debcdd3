//! GET /api/networks: the networks this server reads, as a page or a client picks among them.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::api::{NativeCurrency, NetworkInfo, NetworkList};

/// GET /api/networks: `{"default": "<name>", "networks": [{"name", "chainId", "nativeCurrency":
/// {"name", "symbol", "decimals"}, "explorer", "ens", "testnet"}]}`; no RPC URL (one often
/// carries an API key). Without a chain layer the list is empty.
#[utoipa::path(get, path = "/api/networks", tag = "chain",
    responses((status = 200, description = "The networks and the default one", body = NetworkList)))]
pub(crate) async fn list_networks(State(state): State<AppState>) -> Json<NetworkList> {
    let Some(chain) = &state.chain else { return Json(NetworkList { default: None, networks: Vec::new() }) };
    let networks = chain
        .registry()
        .networks()
        .iter()
        .map(|network| NetworkInfo {
            name: network.name.clone(),
            chain_id: network.chain_id,
            native_currency: NativeCurrency {
                name: network.native.name.clone(),
                symbol: network.native.symbol.clone(),
                decimals: network.native.decimals,
            },
            explorer: network.explorer.clone(),
            ens: network.ens,
            testnet: network.testnet,
        })
        .collect();
    Json(NetworkList { default: Some(chain.default_network().name.clone()), networks })
}
