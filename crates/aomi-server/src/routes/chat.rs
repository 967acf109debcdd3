//! POST /api/chat, GET /api/chat/{id}/stream and POST /api/chat/{id}/stop.

use aomi_core::turn::DEFAULT_APP;
use aomi_core::{Address, ChatMessage, MessagePart, Role, TurnRequest, WalletContext};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::{ErrorBody, StopAnswer};
use crate::auth::Session;
use crate::limits::{Client, Limits, Permitted, with_retry_after};
use crate::routes::chats::{OwnerQuery, authorized_chat, visible_chat};
use crate::routes::request_address;
use crate::sse::ui_message_stream;
use crate::{ApiError, AppState, StopOutcome};

/// The `Retry-After` of a turn refused by a limit on running turns, in seconds.
const TURN_RETRY_SECS: u64 = 5;

/// The body of POST /api/chat: aomi's own shape (`message`: only the new message) or the AI SDK's
/// default (`messages`: the whole list, the last one new).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "a1b2c3",
    "message": {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "What can you do?"}]},
    "wallet": {"address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "chainId": 1}
}))]
pub(crate) struct ChatBody {
    /// The chat's id (1 to 128 letters, digits, `-` or `_`); an id the server has not seen starts
    /// a new chat.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,128}$")]
    id: String,
    /// The new message: a user message, or an assistant message carrying a wallet tool's output.
    #[serde(default)]
    message: Option<ChatMessage>,
    /// The AI SDK's default body: the whole list, the last one new (when `message` is absent).
    #[serde(default)]
    messages: Option<Vec<ChatMessage>>,
    /// The app that answers (`default` unless named).
    #[serde(default)]
    app: Option<String>,
    /// The wallet's state now.
    #[serde(default)]
    wallet: Option<WalletBody>,
    /// The id of a user message of the chat that this one replaces: an edit, or the same words
    /// sent again for another answer. The chat's line from that message on is kept as a branch
    /// (`forks` in `GET /api/chats/{id}`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    replaces: Option<String>,
    /// The model a new chat runs on: the id of one of `GET /api/models` (the default when
    /// absent). An unknown id is refused (400 `unknown_model`); an existing chat keeps the model
    /// it was created with.
    #[serde(default)]
    model: Option<String>,
}

// `wallet` as a request sends it, checked into a `WalletContext` by the route so that a bad
// address is a 400 that says why; its OpenAPI schema is named as the context's.
/// The wallet's state when the turn was sent: the network it is on and, if connected, its address.
///
/// Every turn carries it, so switching network in the wallet takes effect on the very next turn
/// without any shared state on the server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WalletContext)]
pub(crate) struct WalletBody {
    /// The connected address, if any: `0x` and 40 hex digits; mixed case must be a valid EIP-55
    /// checksum.
    #[serde(default)]
    #[schema(pattern = r"^0[xX][0-9a-fA-F]{40}$")]
    address: Option<String>,
    /// The chain id the wallet is on.
    chain_id: u64,
}

/// POST /api/chat: starts a turn and streams it.
#[utoipa::path(post, path = "/api/chat", tag = "chat", request_body = ChatBody,
    responses(
        (status = 200, description = "The turn as an AI SDK UI message stream (SSE, header `x-vercel-ai-ui-message-stream: v1`): one `data: <UiChunk>` event per part, then `data: [DONE]`", content_type = "text/event-stream", body = crate::api::StreamEvent),
        (status = 400, description = "A bad body, chat id, message or wallet, an unknown app (`unknown_app`) or model (`unknown_model`)", body = ErrorBody),
        (status = 401, description = "Sign-in is required to speak for a wallet", body = ErrorBody),
        (status = 403, description = "The chat or the named wallet is another wallet's", body = ErrorBody),
        (status = 409, description = "A turn already runs in this chat (`turn_running`), or the chat is full (`chat_full`)", body = ErrorBody),
        (status = 413, description = "The body or the message (all its parts) is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 429, description = "Too many requests (`rate_limited`), or this wallet runs too many turns at once (`too_many_turns`)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
        (status = 503, description = "This instance runs as many turns as it may (`too_many_turns`), or is shutting down (`shutting_down`: retry, another instance answers)", body = ErrorBody),
    ))]
pub(crate) async fn post_chat(
    State(state): State<AppState>,
    session: Session,
    client: Client,
    body: Result<Json<ChatBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let limits = state.limits.limits();
    let mut request = turn_request(body, limits)?;
    // The turn speaks for the signed-in wallet; a named one only where sign-in is optional (where
    // it is required, a request without a session runs no turn: the model is the operator's).
    let named = request.wallet.as_ref().and_then(|w| w.address);
    request.owner = state.auth.speaker(session.0, named)?;
    if let Some(wallet) = &mut request.wallet {
        wallet.address = request.owner;
    }
    // A full chat refuses a new user message (409 `chat_full`), checked in the commit that would
    // store it.
    if request.message.role == Role::User && limits.messages_per_chat > 0 {
        request.max_messages = Some(limits.messages_per_chat);
    }
    // Running turns are counted per wallet, or per IP for a turn without one.
    let client_key = request.owner.map_or_else(|| format!("ip:{}", client.ip), |owner| owner.to_lowercase_hex());
    let permit = match state.limits.admit_turn(client_key) {
        Ok(permit) => permit,
        Err(refused) => return Ok(with_retry_after(refused, TURN_RETRY_SECS)),
    };
    tracing::info!(chat_id = %request.chat_id, role = request.message.role.as_str(), "chat turn requested");
    let turn = state.backend.submit(request).await?;
    // The turn runs on without its client: it counts until it ends.
    let ended = turn.ended;
    state.tasks.spawn(async move {
        ended.await;
        drop(permit);
    });
    Ok(ui_message_stream(turn.parts))
}

/// GET /api/chat/{id}/stream?owner=0x…: the running turn from its first part (on whichever
/// instance it runs), or 204 when none runs (or the chat is unknown, as the AI SDK asks for a
/// new chat too).
#[utoipa::path(get, path = "/api/chat/{id}/stream", tag = "chat",
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 200, description = "The running turn from its first part, as in `POST /api/chat`", content_type = "text/event-stream", body = crate::api::StreamEvent),
        (status = 204, description = "No turn runs in this chat (or the chat is unknown)"),
        (status = 400, description = "A bad chat id or owner", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 429, description = "Too many requests (`rate_limited`), or the turn has as many followers as it may (`too_many_followers`)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn resume_stream(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    visible_chat(&state, &id, session, query).await?;
    Ok(match state.backend.resume(&id).await? {
        Some(stream) => {
            let permit = state.limits.admit_follower(&id)?;
            ui_message_stream(Box::new(Permitted { stream, _permit: permit }))
        }
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
#[utoipa::path(post, path = "/api/chat/{id}/stop", tag = "chat",
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 200, description = "The turn was stopped and has ended (`stopped: true`), or none ran (`stopped: false`)", body = StopAnswer),
        (status = 202, description = "The turn was stopped but had not ended within a few seconds (`ended: false`)", body = StopAnswer),
        (status = 400, description = "A bad chat id or owner", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat", body = ErrorBody),
        (status = 409, description = "The turn runs on another instance (`turn_elsewhere`)", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn stop_turn(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    authorized_chat(&state, &id, session, query).await?;
    let answer = |status: StatusCode, stopped: bool, ended: Option<bool>| {
        (status, Json(StopAnswer { stopped, ended })).into_response()
    };
    Ok(match state.backend.stop(&id).await? {
        StopOutcome::Stopped => answer(StatusCode::OK, true, None),
        StopOutcome::Stopping => answer(StatusCode::ACCEPTED, true, Some(false)),
        StopOutcome::NotRunning => answer(StatusCode::OK, false, None),
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
fn turn_request(body: ChatBody, limits: &Limits) -> Result<TurnRequest, ApiError> {
    validate_chat_id(&body.id)?;
    let message = match (body.message, body.messages) {
        (Some(message), _) => message,
        (None, Some(mut messages)) => {
            messages.pop().ok_or_else(|| ApiError::bad_request("\"messages\" is empty: send at least one message"))?
        }
        (None, None) => return Err(ApiError::bad_request("the body needs \"message\" (the new message)")),
    };
    validate_message(&message, limits.message_bytes)?;
    if body.replaces.as_deref().is_some_and(|replaced| !is_message_id(replaced)) {
        return Err(ApiError::bad_request(
            "\"replaces\" is a message id: 1 to 128 characters, none a control character",
        ));
    }
    let wallet = body.wallet.map(wallet_context).transpose()?;
    let app = body.app.filter(|a| !a.is_empty()).unwrap_or_else(|| DEFAULT_APP.to_owned());
    // An empty model is the default, as an empty app is.
    let model = body.model.filter(|m| !m.is_empty());
    Ok(TurnRequest {
        chat_id: body.id,
        message,
        app,
        wallet,
        owner: None,
        replaces: body.replaces,
        model,
        max_messages: None,
    })
}

/// A chat id is 1 to 128 characters of letters, digits, `-` and `_`.
pub(crate) fn validate_chat_id(id: &str) -> Result<(), ApiError> {
    let ok =
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ApiError::bad_request("a chat id is 1 to 128 letters, digits, '-' or '_'")) }
}

/// A message (or branch) id a client may name: 1 to 128 characters, none a control character.
pub(crate) fn is_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control)
}

/// Checks a message. A user message holds text parts only (all the page sends), `max_bytes` of
/// JSON over all its parts and its metadata at most.
fn validate_message(message: &ChatMessage, max_bytes: usize) -> Result<(), ApiError> {
    if !is_message_id(&message.id) {
        return Err(ApiError::bad_request("a message id is 1 to 128 characters, none of them a control character"));
    }
    match message.role {
        Role::User => {
            if let Some(part) = message.parts.iter().find(|part| !matches!(part, MessagePart::Text { .. })) {
                let kind = serde_json::to_value(part)
                    .ok()
                    .and_then(|value| value.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                return Err(ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: "unsupported_part",
                    message: format!("a user message may hold only text parts, not \"{kind}\""),
                });
            }
            if message.text().trim().is_empty() {
                return Err(ApiError::bad_request("the message has no text"));
            }
            let size = serde_json::to_vec(&message.parts).map_or(0, |json| json.len())
                + message.metadata.as_ref().map_or(0, |meta| meta.to_string().len());
            if size > max_bytes {
                return Err(ApiError {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    code: "message_too_long",
                    message: format!("the message is {size} bytes long; the limit is {max_bytes}"),
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

/// Checks a body's wallet: a positive chain id, and an address if it names one.
fn wallet_context(wallet: WalletBody) -> Result<WalletContext, ApiError> {
    if wallet.chain_id == 0 {
        return Err(ApiError::bad_request("wallet.chainId must be a positive chain id"));
    }
    let address: Option<Address> =
        wallet.address.as_deref().map(|text| request_address("wallet.address", "an address", text)).transpose()?;
    Ok(WalletContext { address, chain_id: wallet.chain_id })
}
