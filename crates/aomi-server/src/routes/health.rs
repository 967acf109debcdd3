//! Health, readiness and the list of apps.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// GET /healthz: the process answers.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// GET /readyz: the store answers.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.backend.store().ping().await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "error": error.to_string() })))
        }
    }
}

/// GET /api/apps: the apps a request can name.
pub(crate) async fn list_apps(State(state): State<AppState>) -> Json<Value> {
    let apps: Vec<Value> = state
        .backend
        .apps()
        .apps()
        .map(|app| json!({ "name": app.name(), "description": app.description() }))
        .collect();
    Json(json!({ "apps": apps }))
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
