//! POST /api/chats/{id}/branch: switches a chat to another of its branches (see
//! `aomi_store::BranchStore`: an edited message keeps the old line as a branch).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::ErrorBody;
use crate::auth::Session;
use crate::routes::chat::is_message_id;
use crate::routes::chats::{OwnerQuery, authorized_chat};
use crate::{ApiError, AppState};

/// Body of POST /api/chats/{id}/branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BranchChoice {
    /// The branch to put back on the chat's line: one of the ids in a fork's `alternatives`.
    #[schema(min_length = 1, max_length = 128)]
    branch_id: String,
}

/// POST /api/chats/{id}/branch?owner=0x… with `{"branchId": "…"}`: puts that branch back on the
/// chat's line; the part of the line it replaces is kept as a branch in turn, so nothing is lost.
/// Answers 204; `GET /api/chats/{id}` then shows the line and its forks.
#[utoipa::path(post, path = "/api/chats/{id}/branch", tag = "history", request_body = BranchChoice,
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 204, description = "The chat is on that branch now"),
        (status = 400, description = "A bad chat id, owner or branch id, or a branch whose parent is set aside", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat, or no such branch in it", body = ErrorBody),
        (status = 409, description = "A turn runs in the chat", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The JSON does not have the body's shape", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn switch_branch(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
    body: Result<Json<BranchChoice>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(choice) = body?;
    if !is_message_id(&choice.branch_id) {
        return Err(ApiError::bad_request("a branch id is 1 to 128 characters, none of them a control character"));
    }
    authorized_chat(&state, &id, session, query).await?;
    state.backend.switch_branch(&id, &choice.branch_id).await?;
    tracing::info!(chat_id = %id, branch = %choice.branch_id, "chat switched branch");
    Ok(StatusCode::NO_CONTENT)
}
