//! History: list, open, rename, archive, delete and search chats.
//!
//! The owner is the wallet a request speaks for: its sign-in session's, else (unless sign-in is
//! required) the one named by `?owner=0x…` (see [`crate::auth`]). Lists and search need it and show
//! only that wallet's chats; a chat owned by a wallet answers 403 to any other (or to none); an
//! anonymous chat (started without a wallet) is reachable by its id alone.

use aomi_core::{Address, BackendError, ChatListQuery, MessageQuery, SearchRequest};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::{ChatDetail, ChatList, ChatSummary, ErrorBody, Fork, SearchResult, SearchResults};
use crate::auth::Session;
use crate::backend::authorize;
use crate::routes::chat::validate_chat_id;
use crate::routes::request_address;
use crate::{ApiError, AppState};

/// Chats per page unless asked otherwise.
const DEFAULT_PAGE: u32 = 30;

/// Search results unless asked otherwise.
const DEFAULT_RESULTS: u32 = 20;

/// Longest title a person may set, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// `?owner=0x…`: the wallet the request speaks for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OwnerQuery {
    /// The wallet the request speaks for (`0x` and 40 hex digits), where sign-in is optional; a
    /// signed-in request speaks for its session's wallet.
    #[param(pattern = r"^0x[0-9a-fA-F]{40}$")]
    owner: Option<String>,
}

/// The requesting wallet: the session's, or the one `?owner=` names; `None` when there is neither.
pub(crate) fn requester(
    state: &AppState,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Option<Address>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    speaker(state, session, query.owner)
}

/// The wallet a request speaks for (auth decides between the session and `?owner=`).
fn speaker(state: &AppState, session: Session, owner: Option<String>) -> Result<Option<Address>, ApiError> {
    state.auth.speaker(session.0, owner_of(owner)?)
}

/// `?owner=`, checked.
fn owner_of(owner: Option<String>) -> Result<Option<Address>, ApiError> {
    owner.map(|owner| request_address("owner", "a wallet address", &owner)).transpose()
}

fn required(state: &AppState, session: Session, owner: Option<String>) -> Result<Address, ApiError> {
    speaker(state, session, owner)?.ok_or_else(|| {
        ApiError::bad_request("name the wallet whose chats these are: ?owner=0x… (anonymous chats are opened by id)")
    })
}

pub(crate) fn store_error(error: aomi_store::StoreError) -> ApiError {
    BackendError::from(error).into()
}

/// Query of GET /api/chats.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The wallet whose chats these are (see `OwnerQuery`); needed unless signed in.
    #[param(pattern = r"^0x[0-9a-fA-F]{40}$")]
    owner: Option<String>,
    /// Chats per page (30 unless asked otherwise).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
    /// List the archived chats instead of the others.
    #[serde(default)]
    archived: bool,
}

/// GET /api/chats?owner=0x…&limit=30&cursor=…&archived=false: a page of the owner's chats, most
/// recently updated first, and the cursor of the next page (`null` on the last).
#[utoipa::path(get, path = "/api/chats", tag = "history", params(ListQuery),
    responses(
        (status = 200, description = "A page of the wallet's chats", body = ChatList),
        (status = 400, description = "No wallet named, or a bad owner, limit or cursor", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "Signed in as another wallet than the one named", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn list_chats(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ChatList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let owner = required(&state, session, query.owner)?;
    let query = ChatListQuery {
        owner,
        archived: query.archived,
        limit: query.limit.unwrap_or(DEFAULT_PAGE),
        cursor: query.cursor,
    };
    let page = state.backend.list_chats(query).await?;
    let chats = page.chats.into_iter().map(ChatSummary::from).collect();
    Ok(Json(ChatList { chats, next_cursor: page.next_cursor }))
}

/// `?limit=…&before=<message id>` of GET /api/chats/{id}.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many messages (never more than the server's history page).
    limit: Option<usize>,
    /// Only messages before this message id.
    before: Option<String>,
}

/// GET /api/chats/{id}?owner=0x…&limit=…&before=<message id>: the chat and its newest messages
/// (before the message `before`, when given), `limit` of them at most (and never more than the
/// server's history page, 1000 unless configured), oldest first; `hasMore` says whether older
/// ones exist. A turn left running by an instance that died is interrupted here (its answer
/// marked incomplete) before the messages are read.
#[utoipa::path(get, path = "/api/chats/{id}", tag = "history",
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery, PageQuery),
    responses(
        (status = 200, description = "The chat and its messages", body = ChatDetail),
        (status = 400, description = "A bad chat id, owner, limit or before", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn get_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<ChatDetail>, ApiError> {
    let Query(page) = page.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let chat = authorized_chat(&state, &id, session, query).await?;
    let running = state.backend.turn_running(&id).await?;
    let cap = state.limits.limits().history_page;
    let limit = match (page.limit, cap) {
        (Some(limit), 0) => Some(limit),
        (Some(limit), cap) => Some(limit.min(cap)),
        (None, 0) => None,
        (None, cap) => Some(cap),
    };
    let page = state.backend.message_page(&id, MessageQuery { before: page.before, limit }).await?;
    let forks = state.backend.forks(&id).await?.into_iter().map(Fork::from).collect();
    let chat = ChatSummary { running, ..chat.into() };
    Ok(Json(ChatDetail { chat, has_more: page.has_more, messages: page.messages, forks }))
}

/// Body of PATCH /api/chats/{id}.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatChange {
    /// The new title: 1 to 200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// Archive (`true`) or unarchive (`false`) the chat.
    archived: Option<bool>,
}

/// PATCH /api/chats/{id}?owner=0x… with `{"title"?: "…", "archived"?: true}`: renames and/or
/// (un)archives the chat; answers the chat.
#[utoipa::path(patch, path = "/api/chats/{id}", tag = "history", request_body = ChatChange,
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 200, description = "The chat, changed", body = ChatSummary),
        (status = 400, description = "A bad chat id, owner or title, or nothing to change", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn update_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
    body: Result<Json<ChatChange>, JsonRejection>,
) -> Result<Json<ChatSummary>, ApiError> {
    let Json(change) = body?;
    let title = change.title.map(|title| validate_title(&title)).transpose()?;
    if title.is_none() && change.archived.is_none() {
        return Err(ApiError::bad_request("nothing to change: send \"title\" and/or \"archived\""));
    }
    authorized_chat(&state, &id, session, query).await?;
    let chat = state.backend.update_chat(&id, aomi_core::ChatChange { title, archived: change.archived }).await?;
    Ok(Json(chat.into()))
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
#[utoipa::path(delete, path = "/api/chats/{id}", tag = "history",
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 204, description = "The chat is deleted"),
        (status = 400, description = "A bad chat id or owner", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat", body = ErrorBody),
        (status = 409, description = "A turn runs in it", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn delete_chat(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    authorized_chat(&state, &id, session, query).await?;
    state.backend.delete_chat(&id).await?;
    tracing::info!(chat_id = %id, "chat deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Query of GET /api/search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// The wallet whose messages to search (see `OwnerQuery`); needed unless signed in.
    #[param(pattern = r"^0x[0-9a-fA-F]{40}$")]
    owner: Option<String>,
    /// The words to find (at most 1000 bytes); every word must occur, as a word or a word's
    /// beginning.
    #[param(max_length = 1000)]
    q: Option<String>,
    /// Results (20 unless asked otherwise).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// GET /api/search?owner=0x…&q=words&limit=20: the owner's messages holding every word (or a
/// word's beginning), best first: `{"results": [{"chatId", "chatTitle", "archived", "messageId",
/// "role", "snippet", "createdAt"}]}`, the snippet's matches in `**bold**`.
#[utoipa::path(get, path = "/api/search", tag = "history", params(SearchParams),
    responses(
        (status = 200, description = "The matching messages, best first", body = SearchResults),
        (status = 400, description = "No wallet named, or a bad owner, search or limit", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "Signed in as another wallet than the one named", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let Query(params) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let owner = required(&state, session, params.owner)?;
    let text = params.q.unwrap_or_default();
    if text.len() > 1000 {
        return Err(ApiError::bad_request("the search is longer than 1000 bytes"));
    }
    let request = SearchRequest { owner, text, limit: params.limit.unwrap_or(DEFAULT_RESULTS) };
    let results = state.backend.search(request).await?;
    Ok(Json(SearchResults { results: results.into_iter().map(SearchResult::from).collect() }))
}

/// The chat, if it exists and the requester may see it; 404 when it does not exist.
pub(crate) async fn authorized_chat(
    state: &AppState,
    id: &str,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<aomi_core::ChatSummary, ApiError> {
    visible_chat(state, id, session, query).await?.ok_or_else(|| not_found(id))
}

/// The chat if it exists (`None` if not), once the requester may see it.
pub(crate) async fn visible_chat(
    state: &AppState,
    id: &str,
    session: Session,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Option<aomi_core::ChatSummary>, ApiError> {
    validate_chat_id(id)?;
    let requester = requester(state, session, query)?;
    let chat = state.backend.chat(id).await?;
    if let Some(chat) = &chat {
        authorize(chat.owner, requester)?;
    }
    Ok(chat)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no chat with id {id}"))
}
