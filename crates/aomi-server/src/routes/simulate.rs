//! POST /api/simulate: what a transaction would do, for any client.

use aomi_chain::ChainError;
use aomi_chain::simulation::{SimulationReport, SimulationRequest, simulate};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde_json::Value;

use crate::auth::Session;
use crate::{ApiError, AppState};

/// POST /api/simulate — body `{"chainId", "from", "to", "value"?: "<wei>", "data"?: "0x…",
/// "gas"?: "<limit>", "walletChainId"?}`; answers the [`SimulationReport`]. A transaction that would
/// fail is a 200 with `success: false`; 400 for a bad body or an unknown chain, 502 when the
/// network's RPC fails, 503 when the server has no chain layer.
pub(crate) async fn post_simulate(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<SimulationReport>, ApiError> {
    // Each simulation spends the operator's RPC quota.
    state.auth.require_session(&session)?;
    let Json(body) = body?;
    let Some(chain) = state.chain.as_ref() else {
        return Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "chain_unavailable",
            message: "this server has no chain layer configured".into(),
        });
    };
    let request = SimulationRequest::from_json(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let network = chain.registry().for_chain_id(request.chain_id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let connection = chain.connection("", Some(&network.name)).map_err(rpc_error)?;
    let report = simulate(&connection, chain.contracts(), &request).await.map_err(rpc_error)?;
    Ok(Json(report))
}

fn rpc_error(error: ChainError) -> ApiError {
    match error {
        ChainError::InvalidInput(_) | ChainError::InvalidAddress(_) | ChainError::UnknownChainId { .. } => {
            ApiError::bad_request(error.to_string())
        }
        other => {
            tracing::warn!(error = %other, "a simulation failed");
            ApiError { status: StatusCode::BAD_GATEWAY, code: "rpc_error", message: other.to_string() }
        }
    }
}
