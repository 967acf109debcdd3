//! Health, readiness and the list of apps.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::{AppInfo, AppList, Health};
use crate::{ApiError, AppState};

/// GET /healthz: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers: `{\"status\": \"ok\"}`", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), error: None })
}

/// GET /readyz: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The store answers: `{\"status\": \"ready\"}`", body = Health),
        (status = 503, description = "The store does not answer: `{\"status\": \"unavailable\", \"error\"}`", body = Health),
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.backend.store().ping().await {
        Ok(_) => (StatusCode::OK, Json(Health { status: "ready".into(), error: None })),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health { status: "unavailable".into(), error: Some(error.to_string()) }),
        ),
    }
}

/// GET /api/apps: the apps a request can name.
#[utoipa::path(get, path = "/api/apps", tag = "chat",
    responses((status = 200, description = "The apps", body = AppList)))]
pub(crate) async fn list_apps(State(state): State<AppState>) -> Json<AppList> {
    let apps = state
        .backend
        .apps()
        .apps()
        .map(|app| AppInfo { name: app.name().to_owned(), description: app.description().to_owned() })
        .collect();
    Json(AppList { apps })
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
