//! POST /api/telegram/link: binds a Telegram user to the signed-in wallet through the one-time
//! link the bot's `/wallet` gave (see [`crate::telegram::link`]).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::chats::store_error;
use crate::api::{ErrorBody, TelegramLinked};
use crate::auth::Session;
use crate::telegram::link;
use crate::{ApiError, AppState};

/// Body of POST /api/telegram/link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkBody {
    /// The token of the link (what follows `#` in `/telegram/link#<token>`).
    #[schema(max_length = 256)]
    token: String,
}

/// POST /api/telegram/link `{"token"}`: binds the Telegram account that asked `/wallet` to the
/// wallet signed in on this page, so the bot's chats act as that wallet. Needs a sign-in session
/// (naming a wallet is not enough, whatever the sign-in mode); a link binds once, until it
/// expires.
#[utoipa::path(post, path = "/api/telegram/link", tag = "auth", request_body = LinkBody,
    responses(
        (status = 200, description = "The Telegram account now acts as the signed-in wallet", body = TelegramLinked),
        (status = 400, description = "The body is not JSON (`invalid_json`)", body = ErrorBody),
        (status = 401, description = "No sign-in session (`sign_in_required`)", body = ErrorBody),
        (status = 403, description = "A request with a session cookie from another site's page (`wrong_origin`)", body = ErrorBody),
        (status = 410, description = "The link was used already, has expired, or never existed (`link_expired`)", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn post_link(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<LinkBody>, JsonRejection>,
) -> Result<Json<TelegramLinked>, ApiError> {
    let Json(body) = body?;
    let Some(wallet) = session.0 else {
        return Err(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "sign_in_required",
            message: "sign in with the wallet to bind it to Telegram".into(),
        });
    };
    let redeemed = state
        .telegram
        .redeem_telegram_link(&link::token_hash(body.token.trim()), wallet, link::unix_now())
        .await
        .map_err(store_error)?;
    let Some(telegram_user) = redeemed else {
        return Err(ApiError {
            status: StatusCode::GONE,
            code: "link_expired",
            message: "this link was used already or has expired: send /wallet to the bot for a new one".into(),
        });
    };
    tracing::info!(address = %wallet.to_lowercase_hex(), telegram_user, "Telegram account bound to a wallet");
    Ok(Json(TelegramLinked { address: wallet.to_lowercase_hex(), telegram_user }))
}
