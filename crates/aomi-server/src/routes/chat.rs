//! POST /api/chat, GET /api/chat/{id}/stream and POST /api/chat/{id}/stop.

use aomi_core::turn::DEFAULT_APP;
use aomi_core::{ChatMessage, MessagePart, Role, TurnRequest, WalletContext};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Session;
use crate::routes::chats::{OwnerQuery, authorized_chat, visible_chat};
use crate::sse::ui_message_stream;
use crate::{ApiError, AppState, StopOutcome};

/// Longest text a user message may carry, in bytes.
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The body of POST /api/chat: aomi's own shape (`message`: only the new message) or the AI SDK's
/// default (`messages`: the whole list, the last one new).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChatBody {
    id: String,
    #[serde(default)]
    message: Option<ChatMessage>,
    #[serde(default)]
    messages: Option<Vec<ChatMessage>>,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    wallet: Option<WalletContext>,
}

/// POST /api/chat: starts a turn and streams it.
pub(crate) async fn post_chat(
    State(state): State<AppState>,
    session: Session,
    body: Result<Json<ChatBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let mut request = turn_request(body)?;
    // The turn speaks for the signed-in wallet; a named one only where sign-in is optional (where
    // it is required, a request without a session runs no turn: the model is the operator's).
    let named = request.wallet.as_ref().and_then(|w| w.address.as_deref()).map(str::to_lowercase);
    request.owner = state.auth.speaker(session.0, named)?;
    if let Some(wallet) = &mut request.wallet {
        wallet.address.clone_from(&request.owner);
    }
    tracing::info!(chat_id = %request.chat_id, role = request.message.role.as_str(), "chat turn requested");
    let log = state.backend.start_turn(request).await?;
    Ok(ui_message_stream(Box::new(log.reader(0))))
}

/// GET /api/chat/{id}/stream?owner=0x…: the running turn from its first part (on whichever
/// instance it runs), or 204 when none runs (or the chat is unknown, as the AI SDK asks for a
/// new chat too).
pub(crate) async fn resume_stream(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    visible_chat(&state, &id, session, query).await?;
    Ok(match state.backend.resume(&id).await? {
        Some(stream) => ui_message_stream(stream),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// POST /api/chat/{id}/stop?owner=0x…: stops the chat's running turn. The turn's stream ends
/// with an `abort` part, its answer so far is stored with the metadata `{"incomplete": true,
/// "stopped": true}`, and the chat takes the next message at once. Answers:
/// - 200 `{"stopped": true}` once the turn has ended (202 `{"stopped": true, "ended": false}` if
///   it had not ended within a few seconds);
/// - 200 `{"stopped": false}` when no turn runs (a stop that raced the turn's own end is no error);
/// - 404 for an unknown chat, 403 for a chat of another wallet (as every chat route);
/// - 409 `turn_elsewhere` when the turn runs on another instance that shares the store: only the
///   instance running a turn can stop it.
pub(crate) async fn stop_turn(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    authorized_chat(&state, &id, session, query).await?;
    let answer = |status: StatusCode, body: Value| (status, Json(body)).into_response();
    Ok(match state.backend.stop_turn(&id).await? {
        StopOutcome::Stopped => answer(StatusCode::OK, json!({ "stopped": true })),
        StopOutcome::Stopping => answer(StatusCode::ACCEPTED, json!({ "stopped": true, "ended": false })),
        StopOutcome::NotRunning => answer(StatusCode::OK, json!({ "stopped": false })),
        StopOutcome::RunningElsewhere => ApiError {
            status: StatusCode::CONFLICT,
            code: "turn_elsewhere",
            message: format!(
                "the turn of chat {id} runs on another aomi instance, which alone can stop it; it will end by itself"
            ),
        }
        .into_response(),
    })
}

/// Checks a body and turns it into a [`TurnRequest`].
fn turn_request(body: ChatBody) -> Result<TurnRequest, ApiError> {
    validate_chat_id(&body.id)?;
    let message = match (body.message, body.messages) {
        (Some(message), _) => message,
        (None, Some(mut messages)) => {
            messages.pop().ok_or_else(|| ApiError::bad_request("\"messages\" is empty: send at least one message"))?
        }
        (None, None) => return Err(ApiError::bad_request("the body needs \"message\" (the new message)")),
    };
    validate_message(&message)?;
    if let Some(wallet) = &body.wallet {
        validate_wallet(wallet)?;
    }
    let app = body.app.filter(|a| !a.is_empty()).unwrap_or_else(|| DEFAULT_APP.to_owned());
    Ok(TurnRequest { chat_id: body.id, message, app, wallet: body.wallet, owner: None })
}

/// A chat id is 1 to 128 characters of letters, digits, `-` and `_`.
pub(crate) fn validate_chat_id(id: &str) -> Result<(), ApiError> {
    let ok =
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ApiError::bad_request("a chat id is 1 to 128 letters, digits, '-' or '_'")) }
}

fn validate_message(message: &ChatMessage) -> Result<(), ApiError> {
    if message.id.is_empty() || message.id.len() > 128 {
        return Err(ApiError::bad_request("a message id is 1 to 128 characters"));
    }
    match message.role {
        Role::User => {
            let text: usize = message
                .parts
                .iter()
                .map(|part| match part {
                    MessagePart::Text { text } => text.len(),
                    _ => 0,
                })
                .sum();
            if message.text().trim().is_empty() {
                return Err(ApiError::bad_request("the message has no text"));
            }
            if text > MAX_TEXT_BYTES {
                return Err(ApiError {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    code: "message_too_long",
                    message: format!("the message is {text} bytes long; the limit is {MAX_TEXT_BYTES}"),
                });
            }
            Ok(())
        }
        Role::Assistant => {
            if message.tool_parts().next().is_none() {
                return Err(ApiError::bad_request("an assistant message may only carry tool outputs"));
            }
            Ok(())
        }
        Role::System => Err(ApiError::bad_request("a client cannot send a system message")),
    }
}

fn validate_wallet(wallet: &WalletContext) -> Result<(), ApiError> {
    if wallet.chain_id == 0 {
        return Err(ApiError::bad_request("wallet.chainId must be a positive chain id"));
    }
    if let Some(address) = &wallet.address
        && !is_address(address)
    {
        return Err(ApiError::bad_request(format!(
            "wallet.address \"{address}\" is not an address (0x followed by 40 hex digits)"
        )));
    }
    Ok(())
}

/// True for `0x` followed by 40 hex digits.
pub(crate) fn is_address(text: &str) -> bool {
    let hex = text.strip_prefix("0x").unwrap_or("");
    hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}
