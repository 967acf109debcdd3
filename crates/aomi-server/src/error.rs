//! Errors as HTTP answers: a status and a JSON body `{"error": {"code", "message"}}`.

use aomi_core::BackendError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{ErrorBody, ErrorDetail};

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// A 400 with this message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }

    /// A 404 with this message.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, code: "not_found", message: message.into() }
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        let (status, code) = match &error {
            BackendError::TurnRunning(_) => (StatusCode::CONFLICT, "turn_running"),
            BackendError::UnknownApp { .. } => (StatusCode::BAD_REQUEST, "unknown_app"),
            BackendError::UnknownModel { .. } => (StatusCode::BAD_REQUEST, "unknown_model"),
            BackendError::ChatNotFound(_) | BackendError::BranchNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            BackendError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            BackendError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            BackendError::ChatFull { .. } => (StatusCode::CONFLICT, "chat_full"),
            BackendError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage"),
            BackendError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
        };
        // A draining instance refusing work is expected, not a failure to log as one.
        if status.is_server_error() && !matches!(error, BackendError::ShuttingDown) {
            tracing::error!(%error, "request failed");
        }
        ApiError { status, code, message: error.to_string() }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_json",
        };
        ApiError { status, code, message: rejection.body_text() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        (self.status, Json(body)).into_response()
    }
}

/// The most of a plain-text error body [`json_errors`] reads: rejections say one line.
const PLAIN_ERROR_BYTES: usize = 4096;

/// Gives an error answer of an `/api/` route that is not JSON (an extractor's own rejection, such
/// as a path segment that is not UTF-8 after percent-decoding, or a 405) the JSON error body
/// every other error has, keeping its status and headers.
pub(crate) async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !api || json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_ERROR_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let code = reason.to_lowercase().replace([' ', '-'], "_");
    let message = if text.is_empty() { reason.to_owned() } else { text };
    let mut answer = (status, Json(ErrorBody { error: ErrorDetail { code, message } })).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}
