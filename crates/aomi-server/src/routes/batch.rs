//! The chat's pending batch, for the page: `GET /api/chats/{id}/batch` reads it and
//! `DELETE /api/chats/{id}/batch/steps/{index}` removes one step (see `aomi_tools::defi`: the
//! model stages steps with `stage_transaction`, and sends them with `send_batch_to_wallet`).
//! Only the chat's owner reaches them, as every chat route (`authorized_chat`).

use std::sync::Arc;

use aomi_tools::defi::{BatchKeeper, PendingBatch, batch_of};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use crate::api::ErrorBody;
use crate::auth::Session;
use crate::batches::StoreBatches;
use crate::routes::chats::{OwnerQuery, authorized_chat};
use crate::{ApiError, AppState};

fn storage(error: String) -> ApiError {
    aomi_core::BackendError::Storage(error).into()
}

fn keeper(state: &AppState) -> StoreBatches {
    StoreBatches::new(Arc::clone(&state.batches))
}

/// GET /api/chats/{id}/batch?owner=0x…: the chat's pending batch, in the order its steps run.
#[utoipa::path(get, path = "/api/chats/{id}/batch", tag = "history",
    params(("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"), OwnerQuery),
    responses(
        (status = 200, description = "The chat's pending batch (no steps when none is staged)", body = PendingBatch),
        (status = 400, description = "A bad chat id or owner", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn get_batch(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Json<PendingBatch>, ApiError> {
    authorized_chat(&state, &id, session, query).await?;
    let kept = keeper(&state).steps(&id).await.map_err(storage)?;
    Ok(Json(batch_of(&kept)))
}

/// DELETE /api/chats/{id}/batch/steps/{index}?owner=0x…: removes the step at `index` (from 0) of
/// the chat's pending batch; answers the batch as it is then.
#[utoipa::path(delete, path = "/api/chats/{id}/batch/steps/{index}", tag = "history",
    params(
        ("id" = String, Path, description = "The chat's id: 1 to 128 letters, digits, `-` or `_`", pattern = r"^[A-Za-z0-9_-]{1,128}$"),
        ("index" = usize, Path, description = "The step's place in the batch, from 0"),
        OwnerQuery,
    ),
    responses(
        (status = 200, description = "The step is removed: the batch as it is now", body = PendingBatch),
        (status = 400, description = "A bad chat id, index or owner", body = ErrorBody),
        (status = 401, description = "Sign-in is required", body = ErrorBody),
        (status = 403, description = "The chat is another wallet's", body = ErrorBody),
        (status = 404, description = "No such chat, or no such step in its batch", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody),
    ))]
pub(crate) async fn remove_step(
    State(state): State<AppState>,
    session: Session,
    Path((id, index)): Path<(String, String)>,
    query: Result<Query<OwnerQuery>, QueryRejection>,
) -> Result<Json<PendingBatch>, ApiError> {
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::bad_request(format!("step \"{index}\" is not a place in the batch (0, 1, …)")))?;
    authorized_chat(&state, &id, session, query).await?;
    match keeper(&state).remove(&id, index).await.map_err(storage)? {
        Some(kept) => {
            tracing::info!(chat_id = %id, index, "a batch step removed");
            Ok(Json(batch_of(&kept)))
        }
        None => Err(ApiError::not_found(format!("the chat's pending batch has no step {index}"))),
    }
}
