//! Sign-in with the wallet: POST /api/auth/challenge, POST /api/auth/verify, GET and DELETE
//! /api/auth/session, DELETE /api/auth/sessions (see [`crate::auth`]).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{ErrorBody, SessionInfo, SignedInAnswer};
use crate::auth::{AuthMode, Challenge, SESSION_COOKIE, Session};
use crate::routes::chats::store_error;
use crate::routes::request_address;
use crate::{ApiError, AppState};

/// Largest chain id accepted (the largest integer JavaScript holds exactly, as EIP-2294 bounds it).
const MAX_CHAIN_ID: u64 = (1 << 53) - 1;

/// Body of POST /api/auth/challenge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChallengeBody {
    /// The wallet that signs in, `0x` and 40 hex digits.
    #[schema(pattern = r"^0x[0-9a-fA-F]{40}$")]
    address: String,
    /// The chain the wallet is on (1 unless named).
    #[serde(default)]
    #[schema(minimum = 1)]
    chain_id: Option<u64>,
}

/// POST /api/auth/challenge `{"address", "chainId"?}`: the EIP-4361 message for the wallet to
/// sign, and the token to send back with its signature. Its domain is the server's public
/// address; a request that came to another `Host` (or from another `Origin`) is refused.
#[utoipa::path(post, path = "/api/auth/challenge", tag = "auth", request_body = ChallengeBody,
    responses(
        (status = 200, description = "The message to sign and the token to send back with its signature", body = Challenge),
        (status = 400, description = "A bad address or chain id", body = ErrorBody),
        (status = 403, description = "The request came to another `Host` or from another `Origin` than the server's public address (`wrong_origin`)", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 503, description = "The server's public address is unknown (`public_url_unset`)", body = ErrorBody),
    ))]
pub(crate) async fn post_challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ChallengeBody>, JsonRejection>,
) -> Result<Json<Challenge>, ApiError> {
    let Json(body) = body?;
    let address = request_address("address", "a wallet address", &body.address)?.into_alloy();
    let chain_id = body.chain_id.unwrap_or(1);
    if chain_id == 0 || chain_id > MAX_CHAIN_ID {
        return Err(ApiError::bad_request(format!("chainId must be a chain id from 1 to {MAX_CHAIN_ID}")));
    }
    let (domain, uri) = state.auth.sign_in_origin(&headers)?;
    Ok(Json(state.auth.challenge(address, chain_id, &domain, &uri)))
}

/// Body of POST /api/auth/verify.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    /// The EIP-4361 message, as the challenge gave it.
    message: String,
    /// The wallet's `personal_sign` of the message, `0x` hex.
    signature: String,
    /// The challenge token, as the challenge gave it.
    challenge: String,
}

/// POST /api/auth/verify `{"message", "signature", "challenge"}`: opens a session (an HttpOnly
/// cookie) for the wallet that signed — by its key, or a contract wallet by EIP-1271 / ERC-6492
/// on the challenge's chain; 401 with the reason otherwise (503 when the chain or the store
/// cannot be asked).
#[utoipa::path(post, path = "/api/auth/verify", tag = "auth", request_body = VerifyBody,
    responses(
        (status = 200, description = "Signed in: the `aomi_session` cookie is set (HttpOnly, SameSite=Strict)", body = SignedInAnswer,
            headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "The signature does not prove the wallet (`sign_in_failed`, with the reason)", body = ErrorBody),
        (status = 403, description = "The request came to another `Host` or from another `Origin` than the server's public address (`wrong_origin`)", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 503, description = "A contract wallet's chain or the store cannot be asked, or the public address is unknown", body = ErrorBody),
    ))]
pub(crate) async fn post_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    state.auth.sign_in_origin(&headers)?;
    let chain = state.chain.clone();
    let connect = move |chain_id: u64| match &chain {
        Some(chain) => chain.chain_connection(chain_id),
        None => Err(aomi_chain::ChainError::Config(
            "this server reads no chain, so only a wallet's key can sign in (not a contract wallet)".into(),
        )),
    };
    let signed_in = state
        .auth
        .verify(&body.message, &body.signature, &body.challenge, state.auth_store.as_ref(), connect)
        .await
        .map_err(|error| ApiError { status: error.status(), code: "sign_in_failed", message: error.to_string() })?;
    tracing::info!(address = %signed_in.address, signed_by = ?signed_in.signed_by, "signed in");
    let max_age = signed_in.expires_at.saturating_sub(chrono::Utc::now().timestamp().max(0) as u64);
    let cookie = cookie(&state, &signed_in.token, max_age);
    let body = SignedInAnswer { address: signed_in.address, expires_at: signed_in.expires_at };
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// GET /api/auth/session: the signed-in wallet (`null` when none) and whether sign-in is required.
#[utoipa::path(get, path = "/api/auth/session", tag = "auth",
    responses((status = 200, description = "Who this client is signed in as", body = SessionInfo)))]
pub(crate) async fn get_session(State(state): State<AppState>, session: Session) -> Json<SessionInfo> {
    Json(SessionInfo {
        address: session.0.map(|wallet| wallet.to_lowercase_hex()),
        required: state.auth.mode() == AuthMode::Required,
    })
}

/// DELETE /api/auth/session: signs out on this device (the cookie is cleared).
#[utoipa::path(delete, path = "/api/auth/session", tag = "auth",
    responses(
        (status = 204, description = "Signed out: the cookie is cleared", headers(("set-cookie" = String, description = "The cleared cookie"))),
        (status = 403, description = "A request with a session cookie from another site's page (`wrong_origin`)", body = ErrorBody),
    ))]
pub(crate) async fn delete_session(State(state): State<AppState>) -> Response {
    (StatusCode::NO_CONTENT, [(SET_COOKIE, cookie(&state, "", 0))]).into_response()
}

/// DELETE /api/auth/sessions: signs the wallet out everywhere: every session it opened so far,
/// on any device and any instance, ends. Needs a session.
#[utoipa::path(delete, path = "/api/auth/sessions", tag = "auth",
    responses(
        (status = 204, description = "Every session of the wallet has ended; this one's cookie is cleared", headers(("set-cookie" = String, description = "The cleared cookie"))),
        (status = 401, description = "No session to sign out of (`sign_in_required`)", body = ErrorBody),
        (status = 403, description = "A request with a session cookie from another site's page (`wrong_origin`)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn delete_all_sessions(State(state): State<AppState>, session: Session) -> Result<Response, ApiError> {
    let Some(wallet) = session.0 else {
        return Err(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "sign_in_required",
            message: "no session to sign out of".into(),
        });
    };
    state.auth_store.revoke_sessions(wallet).await.map_err(store_error)?;
    tracing::info!(address = %wallet.to_lowercase_hex(), "signed out everywhere");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie(&state, "", 0))]).into_response())
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
/// Secure as configured (by default when the public address is https).
fn cookie(state: &AppState, token: &str, max_age: u64) -> String {
    let secure = if state.auth.secure_cookie() { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}
