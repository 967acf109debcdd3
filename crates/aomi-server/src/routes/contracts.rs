//! GET /api/contracts/{chain}/{address}: a contract as the contract database holds it.

use aomi_store::ContractRecord;
use axum::Json;
use axum::extract::{Path, State};

use super::chats::store_error;
use crate::auth::Session;
use crate::{ApiError, AppState};

/// GET /api/contracts/{chain}/{address} — `chain` a chain id (`1`) or, when the server has a chain
/// layer, a network name (`ethereum`); `address` 0x and 40 hex digits in any case. Answers the
/// stored record (`chainId`, `address` lower case, `name`, `abi`, `source`, `verifiedBy`,
/// `fetchedAt`, `implementation`); a "not verified" answer is a record with `verifiedBy: null` and
/// an empty ABI. Reads the database only, never the explorer (the `get_contract` tool fills it):
/// 404 for a contract it does not hold, 400 for a bad chain or address.
pub(crate) async fn get_contract(
    State(state): State<AppState>,
    session: Session,
    Path((chain, address)): Path<(String, String)>,
) -> Result<Json<ContractRecord>, ApiError> {
    state.auth.require_session(&session)?;
    let chain_id = chain_id(&state, &chain)?;
    if !is_address(&address) {
        return Err(ApiError::bad_request(format!("\"{address}\" is not an address (0x followed by 40 hex digits)")));
    }
    let record = state.backend.store().contract(chain_id, &address).await.map_err(store_error)?;
    record.map(Json).ok_or_else(|| {
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

fn is_address(text: &str) -> bool {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or("");
    hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}
