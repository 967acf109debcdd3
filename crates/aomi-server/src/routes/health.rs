//! Health, readiness, and the lists of apps and models.

use aomi_core::BackendError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::{AppInfo, AppList, Health, ModelInfo, ModelList};
use crate::{ApiError, AppState};

/// GET /healthz: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers: `{\"status\": \"ok\"}`", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), error: None })
}

/// GET /readyz: the store answers and the instance is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The store answers: `{\"status\": \"ready\"}`", body = Health),
        (status = 503, description = "The store does not answer (`{\"status\": \"unavailable\", \"error\"}`), or the instance is shutting down and finishing its running turns (`{\"status\": \"draining\", \"error\"}`): a load balancer sends new requests elsewhere", body = Health),
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.backend.ready().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ready".into(), error: None })),
        Err(error @ BackendError::ShuttingDown) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health { status: "draining".into(), error: Some(error.to_string()) }),
        ),
        Err(error) => {
            // The store's own words, as before the backend stood between.
            let error = match error {
                BackendError::Storage(message) => message,
                other => other.to_string(),
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable".into(), error: Some(error) }))
        }
    }
}

/// GET /api/apps: the apps a request can name.
#[utoipa::path(get, path = "/api/apps", tag = "chat",
    responses((status = 200, description = "The apps", body = AppList)))]
pub(crate) async fn list_apps(State(state): State<AppState>) -> Json<AppList> {
    let apps = state.backend.apps().into_iter().map(AppInfo::from).collect();
    Json(AppList { apps })
}

/// GET /api/models: the models a new chat may pick (`"model"` of `POST /api/chat`).
#[utoipa::path(get, path = "/api/models", tag = "chat",
    responses((status = 200, description = "The allowed models, the default first", body = ModelList)))]
pub(crate) async fn list_models(State(state): State<AppState>) -> Json<ModelList> {
    let models = state.backend.models().into_iter().map(ModelInfo::from).collect();
    Json(ModelList { models })
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
