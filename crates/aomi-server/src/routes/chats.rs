//! History: list, open, rename, archive, delete and search chats.
//!
//! The owner is the wallet a request speaks for: its sign-in session's, else (unless sign-in is
//! required) the one named by `?owner=0x…` (see [`crate::auth`]). Lists and search need it and show
//! only that wallet's chats; a chat owned by a wallet answers 403 to any other (or to none); an
//! anonymous chat (started without a wallet) is reachable by its id alone.

use aomi_core::BackendError;
use aomi_store::{ChatCursor, ChatQuery, SearchQuery};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Session;
use crate::backend::authorize;
use crate::routes::chat::{is_address, validate_chat_id};
use crate::{ApiError, AppState};

/// Chats per page unless asked otherwise.
const DEFAULT_PAGE: u32 = 30;

/// Search results unless asked otherwise.
const DEFAULT_RESULTS: u32 = 20;

/// Longest title a person may set, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// `?owner=0x…`: the wallet the request speaks for.
#[derive(Debug, Deserialize)]
pub(crate) struct OwnerQuery {
    owner: Option<String>,
}

/// The requesting wallet, lower case: the session's, or the one `?owner=` names; `None` when
/// there is neither.
pub(crate) fn requester(
    state: &AppState,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Option<String>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    state.auth.speaker(session.0, owner_of(query.owner)?)
}

fn owner_of(owner: Option<String>) -> Result<Option<String>, ApiError> {
    match owner {
        None => Ok(None),
        Some(owner) if is_address(&owner) => Ok(Some(owner.to_lowercase())),
        Some(owner) => Err(ApiError::bad_request(format!(
            "owner \"{owner}\" is not a wallet address (0x followed by 40 hex digits)"
        ))),
    }
}

fn required(state: &AppState, session: Session, owner: Option<String>) -> Result<String, ApiError> {
    state.auth.speaker(session.0, owner_of(owner)?)?.ok_or_else(|| {
        ApiError::bad_request("name the wallet whose chats these are: ?owner=0x… (anonymous chats are opened by id)")
    })
}

pub(crate) fn store_error(error: aomi_store::StoreError) -> ApiError {
    BackendError::from(error).into()
}

/// Query of GET /api/chats.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    owner: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    #[serde(default)]
    archived: bool,
}

/// GET /api/chats?owner=0x…&limit=30&cursor=…&archived=false: a page of the owner's chats, most
/// recently updated first, and the cursor of the next page (`null` on the last).
pub(crate) async fn list_chats(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let owner = required(&state, session, query.owner)?;
    let after = query.cursor.as_deref().map(str::parse::<ChatCursor>).transpose().map_err(store_error)?;
    let query = ChatQuery { owner, archived: query.archived, limit: query.limit.unwrap_or(DEFAULT_PAGE), after };
    let page = state.backend.store().list_chats(&query).await.map_err(store_error)?;
    Ok(Json(json!({ "chats": page.chats, "nextCursor": page.next.map(|cursor| cursor.to_string()) })))
}

/// `?limit=…&before=<message id>` of GET /api/chats/{id}.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    limit: Option<usize>,
    before: Option<String>,
}

/// GET /api/chats/{id}?owner=0x…&limit=…&before=<message id>: the chat and its newest messages
/// (before the message `before`, when given), `limit` of them at most (and never more than the
/// server's history page, 1000 unless configured), oldest first; `hasMore` says whether older
/// ones exist. A turn left running by an instance that died is interrupted here (its answer
/// marked incomplete) before the messages are read.
pub(crate) async fn get_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(page) = page.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let chat = authorized_chat(&state, &id, session, query).await?;
    let running = state.backend.turn_running(&id).await?;
    let mut messages = state.backend.store().messages(&id).await.map_err(store_error)?;
    if let Some(before) = &page.before {
        let end = messages
            .iter()
            .position(|m| &m.id == before)
            .ok_or_else(|| ApiError::bad_request(format!("no message {before} in this chat")))?;
        messages.truncate(end);
    }
    let cap = state.limits.limits().history_page;
    let limit = match (page.limit, cap) {
        (Some(limit), 0) => limit,
        (Some(limit), cap) => limit.min(cap),
        (None, 0) => usize::MAX,
        (None, cap) => cap,
    };
    let start = messages.len().saturating_sub(limit);
    let messages = messages.split_off(start);
    let mut body = serde_json::to_value(chat).unwrap_or(Value::Null);
    body["running"] = running.into();
    body["hasMore"] = (start > 0).into();
    body["messages"] = serde_json::to_value(messages).unwrap_or(Value::Null);
    Ok(Json(body))
}

/// Body of PATCH /api/chats/{id}.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatChange {
    title: Option<String>,
    archived: Option<bool>,
}

/// PATCH /api/chats/{id}?owner=0x… with `{"title"?: "…", "archived"?: true}`: renames and/or
/// (un)archives the chat; answers the chat.
pub(crate) async fn update_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
    body: Result<Json<ChatChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(change) = body?;
    let title = change.title.map(|title| validate_title(&title)).transpose()?;
    if title.is_none() && change.archived.is_none() {
        return Err(ApiError::bad_request("nothing to change: send \"title\" and/or \"archived\""));
    }
    authorized_chat(&state, &id, session, query).await?;
    let store = state.backend.store();
    if let Some(title) = &title {
        store.rename_chat(&id, title).await.map_err(store_error)?;
    }
    if let Some(archived) = change.archived {
        store.set_archived(&id, archived).await.map_err(store_error)?;
    }
    let chat = store.chat(&id).await.map_err(store_error)?.ok_or_else(|| not_found(&id))?;
    Ok(Json(serde_json::to_value(chat).unwrap_or(Value::Null)))
}

fn validate_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ApiError::bad_request("the title is empty"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::bad_request(format!("the title is longer than {MAX_TITLE_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::bad_request("the title may not contain control characters (such as line breaks)"));
    }
    Ok(title.to_owned())
}

/// DELETE /api/chats/{id}?owner=0x…: deletes the chat, its messages and its transactions; 409
/// while a turn runs in it.
pub(crate) async fn delete_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    authorized_chat(&state, &id, session, query).await?;
    if state.backend.turn_running(&id).await? {
        return Err(BackendError::TurnRunning(id).into());
    }
    state.backend.store().delete_chat(&id).await.map_err(store_error)?;
    tracing::info!(chat_id = %id, "chat deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Query of GET /api/search.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchParams {
    owner: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
}

/// GET /api/search?owner=0x…&q=words&limit=20: the owner's messages holding every word (or a
/// word's beginning), best first: `{"results": [{"chatId", "chatTitle", "archived", "messageId",
/// "role", "snippet", "createdAt"}]}`, the snippet's matches in `**bold**`.
pub(crate) async fn search(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let owner = required(&state, session, params.owner)?;
    let text = params.q.unwrap_or_default();
    if text.len() > 1000 {
        return Err(ApiError::bad_request("the search is longer than 1000 bytes"));
    }
    let query = SearchQuery { owner, text, limit: params.limit.unwrap_or(DEFAULT_RESULTS) };
    let results = state.backend.store().search(&query).await.map_err(store_error)?;
    Ok(Json(json!({ "results": results })))
}

/// The chat, if it exists and the requester may see it; 404 when it does not exist.
pub(crate) async fn authorized_chat(
    state: &AppState,
    id: &str,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<aomi_store::ChatRecord, ApiError> {
    visible_chat(state, id, session, query).await?.ok_or_else(|| not_found(id))
}

/// The chat if it exists (`None` if not), once the requester may see it.
pub(crate) async fn visible_chat(
    state: &AppState,
    id: &str,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Option<aomi_store::ChatRecord>, ApiError> {
    validate_chat_id(id)?;
    let requester = requester(state, session, query)?;
    let chat = state.backend.chat(id).await?;
    if let Some(chat) = &chat {
        authorize(chat, requester.as_deref())?;
    }
    Ok(chat)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no chat with id {id}"))
}
