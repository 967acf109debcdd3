//! GET /api/contracts/{chain}/{address}: a contract as the contract database holds it.

use axum::Json;
use axum::extract::{Path, State};

use super::chats::store_error;
use crate::api::{Contract, ErrorBody};
use crate::auth::Session;
use crate::routes::request_address;
use crate::{ApiError, AppState};

/// GET /api/contracts/{chain}/{address} — `chain` a chain id (`1`) or, when the server has a chain
/// layer, a network name (`ethereum`); `address` 0x and 40 hex digits in any case. Answers the
/// stored record (`chainId`, `address` lower case, `name`, `abi`, `source`, `verifiedBy`,
/// `fetchedAt`, `implementation`); a "not verified" answer is a record with `verifiedBy: null` and
/// an empty ABI. Reads the database only, never the explorer (the `get_contract` tool fills it):
/// 404 for a contract it does not hold, 400 for a bad chain or address.
#[utoipa::path(get, path = "/api/contracts/{chain}/{address}", tag = "chain",
    params(
        ("chain" = String, Path, description = "A chain id (`1`) or a network name (`ethereum`)"),
        ("address" = String, Path, description = "The contract's address, `0x` and 40 hex digits", pattern = r"^0[xX][0-9a-fA-F]{40}$"),
    ),
    responses(
        (status = 200, description = "The contract as the database holds it", body = Contract),
        (status = 400, description = "A bad chain or address", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 404, description = "The database does not hold this contract", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn get_contract(
    State(state): State<AppState>,
    session: Session,
    Path((chain, address)): Path<(String, String)>,
) -> Result<Json<Contract>, ApiError> {
    state.auth.require_session(&session)?;
    let chain_id = chain_id(&state, &chain)?;
    let parsed = request_address("address", "an address", &address)?;
    let record = state.contracts.contract(chain_id, parsed).await.map_err(store_error)?;
    record.map(|record| Json(record.into())).ok_or_else(|| {
        ApiError::not_found(format!("no contract {address} on chain {chain_id} in the contract database"))
    })
}

fn chain_id(state: &AppState, chain: &str) -> Result<u64, ApiError> {
    if let Ok(id) = chain.parse::<u64>() {
        return Ok(id);
    }
    match &state.chain {
        Some(sessions) => {
            sessions.registry().resolve(chain).map(|n| n.chain_id).map_err(|e| ApiError::bad_request(e.to_string()))
        }
        None => Err(ApiError::bad_request(format!("\"{chain}\" is not a chain id"))),
    }
}
