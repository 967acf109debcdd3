//! Sign-in with the wallet: POST /api/auth/challenge, POST /api/auth/verify, GET and DELETE
//! /api/auth/session (see [`crate::auth`]).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{HOST, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{AuthMode, Challenge, SESSION_COOKIE, Session};
use crate::routes::chat::is_address;
use crate::{ApiError, AppState};

/// Body of POST /api/auth/challenge.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChallengeBody {
    address: String,
    #[serde(default)]
    chain_id: Option<u64>,
}

/// POST /api/auth/challenge `{"address", "chainId"?}`: the EIP-4361 message for the wallet to
/// sign, and the token to send back with its signature.
pub(crate) async fn post_challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ChallengeBody>, JsonRejection>,
) -> Result<Json<Challenge>, ApiError> {
    let Json(body) = body?;
    if !is_address(&body.address) {
        return Err(ApiError::bad_request(format!(
            "address \"{}\" is not a wallet address (0x followed by 40 hex digits)",
            body.address
        )));
    }
    let address = body.address.parse().map_err(|e| ApiError::bad_request(format!("bad address: {e}")))?;
    let chain_id = body.chain_id.unwrap_or(1);
    if chain_id == 0 {
        return Err(ApiError::bad_request("chainId must be a positive chain id"));
    }
    // The domain the wallet shows (and checks against the page) is the host the page was served from.
    let domain = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let uri = format!("{}://{domain}", scheme(&headers));
    Ok(Json(state.auth.challenge(address, chain_id, &domain, &uri)))
}

/// Body of POST /api/auth/verify.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    message: String,
    signature: String,
    challenge: String,
}

/// POST /api/auth/verify `{"message", "signature", "challenge"}`: opens a session (an HttpOnly
/// cookie) for the wallet that signed; 401 with the reason otherwise.
pub(crate) async fn post_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let signed_in = state.auth.verify(&body.message, &body.signature, &body.challenge).map_err(|error| ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "sign_in_failed",
        message: error.to_string(),
    })?;
    tracing::info!(address = %signed_in.address, "signed in");
    let max_age = signed_in.expires_at.saturating_sub(chrono::Utc::now().timestamp().max(0) as u64);
    let cookie = cookie(&headers, &signed_in.token, max_age);
    let body = json!({ "address": signed_in.address, "expiresAt": signed_in.expires_at });
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// GET /api/auth/session: the signed-in wallet (`null` when none) and whether sign-in is required.
pub(crate) async fn get_session(State(state): State<AppState>, session: Session) -> Json<Value> {
    Json(json!({ "address": session.0, "required": state.auth.mode() == AuthMode::Required }))
}

/// DELETE /api/auth/session: signs out (the cookie is cleared).
pub(crate) async fn delete_session(headers: HeaderMap) -> Response {
    (StatusCode::NO_CONTENT, [(SET_COOKIE, cookie(&headers, "", 0))]).into_response()
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
/// Secure behind HTTPS.
fn cookie(headers: &HeaderMap, token: &str, max_age: u64) -> String {
    let secure = if scheme(headers) == "https" { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// `https` behind a proxy that says so, else `http`.
fn scheme(headers: &HeaderMap) -> &'static str {
    match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}
