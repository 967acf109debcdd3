//! GET and PUT /api/guards: the signed-in wallet's spend guards. Only that wallet reads or
//! changes them, here; no tool can.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::chats::store_error;
use crate::api::ErrorBody;
use crate::auth::Session;
use crate::guards::stored_settings;
use crate::{ApiError, AppState};
use aomi_tools::guard::GuardSettings;

/// A wallet's spend guards.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Guards {
    /// The signed-in wallet, lower case.
    pub wallet: String,
    /// Its settings (the defaults, open and without limits, until it saves some).
    pub settings: GuardSettings,
    /// The most allow-list entries it may save.
    pub max_allowed: usize,
}

fn signed_in(session: &Session) -> Result<aomi_core::Address, ApiError> {
    session.0.ok_or_else(|| ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "sign_in_required",
        message: "sign in with your wallet to read or change its spend guards".into(),
    })
}

/// GET /api/guards — the signed-in wallet's spend guards.
#[utoipa::path(get, path = "/api/guards", tag = "auth",
    responses(
        (status = 200, description = "The wallet's guards", body = Guards),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn get_guards(State(state): State<AppState>, session: Session) -> Result<Json<Guards>, ApiError> {
    let wallet = signed_in(&session)?;
    let settings = stored_settings(state.guards.as_ref(), wallet).await.map_err(|message| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        message,
    })?;
    Ok(Json(Guards { wallet: wallet.to_lowercase_hex(), settings, max_allowed: state.guards_max_allowed }))
}

/// PUT /api/guards — replaces the signed-in wallet's spend guards: a level (`strict`, `balanced`,
/// `open`), USD limits per transaction and per day (`null`: none), and an allow-list of
/// addresses (with function selectors for strict mode). 422 for settings of the wrong shape, 400
/// for settings out of bounds.
#[utoipa::path(put, path = "/api/guards", tag = "auth",
    request_body = GuardSettings,
    responses(
        (status = 200, description = "The guards as saved", body = Guards),
        (status = 400, description = "Settings out of bounds (a limit, a selector, too many entries)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Settings of the wrong shape (an unknown level or key, a bad address)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn put_guards(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<GuardSettings>, JsonRejection>,
) -> Result<Json<Guards>, ApiError> {
    let wallet = signed_in(&session)?;
    let Json(settings) = body?;
    let settings = settings.validated(state.guards_max_allowed).map_err(ApiError::bad_request)?;
    let value = serde_json::to_value(&settings).map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.guards.put_guards(wallet, &value).await.map_err(store_error)?;
    Ok(Json(Guards { wallet: wallet.to_lowercase_hex(), settings, max_allowed: state.guards_max_allowed }))
}
