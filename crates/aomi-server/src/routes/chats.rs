//! Reading history.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::routes::chat::validate_chat_id;
use crate::{ApiError, AppState};

/// Query of GET /api/chats.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// The wallet whose chats to list; anonymous chats when absent.
    owner: Option<String>,
}

/// GET /api/chats: the owner's chats, newest first.
pub(crate) async fn list_chats(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let owner = query.owner.map(|o| o.to_lowercase());
    let chats = state.backend.store().list_chats(owner.as_deref()).await.map_err(aomi_core::BackendError::from)?;
    let chats: Vec<Value> = chats
        .into_iter()
        .map(|chat| {
            let running = state.backend.is_running(&chat.id);
            let mut value = serde_json::to_value(chat).unwrap_or(Value::Null);
            value["running"] = running.into();
            value
        })
        .collect();
    Ok(Json(json!({ "chats": chats })))
}

/// GET /api/chats/{id}: the chat and its messages.
pub(crate) async fn get_chat(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    validate_chat_id(&id)?;
    let chat = state.backend.chat(&id).await?.ok_or_else(|| ApiError::not_found(format!("no chat with id {id}")))?;
    let messages = state.backend.store().messages(&id).await.map_err(aomi_core::BackendError::from)?;
    let mut body = serde_json::to_value(chat).unwrap_or(Value::Null);
    body["running"] = state.backend.is_running(&id).into();
    body["messages"] = serde_json::to_value(messages).unwrap_or(Value::Null);
    Ok(Json(body))
}
