//! [`LlmError`]: what can go wrong when calling a model, in words a user may see.

use std::time::Duration;

use rig::error::ProviderError;
use serde_json::Value;

use crate::config::ConfigError;

/// The longest provider message kept in an error.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a model call failed. Every message is safe to show to the user: it never
/// contains the API key or the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider answered 429 (or reported a rate-limit error), also after
    /// the retries.
    #[error("the model provider is rate limiting requests: {message}")]
    RateLimited {
        /// The provider's explanation.
        message: String,
    },
    /// The provider answered with an error status (or reported an error inside
    /// the stream). `status` is the HTTP status; for an error reported inside a
    /// stream it is the status the error's type stands for (Anthropic's
    /// `overloaded_error` is 529, `api_error` 500, …), or 0 when the provider
    /// named no type aomi knows.
    #[error("the model provider reported an error{}: {message}", status_suffix(*.status))]
    Provider {
        /// The HTTP status, or 0 when unknown.
        status: u16,
        /// The provider's explanation.
        message: String,
    },
    /// No event arrived within the configured idle timeout.
    #[error("the model sent nothing for {} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The provider's stream or JSON could not be read, or it ended before the
    /// provider finished its answer.
    #[error("the model's answer could not be read: {0}")]
    MalformedStream(String),
    /// The provider could not be reached, or the connection broke.
    #[error("could not reach the model provider: {0}")]
    Transport(String),
    /// The configuration or the request is not usable.
    #[error("model configuration error: {0}")]
    Config(String),
}

fn status_suffix(status: u16) -> String {
    if status == 0 { String::new() } else { format!(" (HTTP {status})") }
}

impl LlmError {
    /// Whether a request that failed this way before any output may be sent
    /// again: rate limits and server errors (5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::RateLimited { .. } => true,
            LlmError::Provider { status, .. } => (500..=599).contains(status),
            _ => false,
        }
    }
}

impl From<ConfigError> for LlmError {
    fn from(error: ConfigError) -> Self {
        LlmError::Config(error.to_string())
    }
}

/// A rig error as an [`LlmError`], with the wait the provider asked for
/// before a retry (`retry-after`), when it named one in seconds.
pub(crate) fn from_rig(error: &ProviderError) -> (LlmError, Option<Duration>) {
    let retry_after = retry_after(error);
    let mapped = match error {
        ProviderError::Http(inner) => LlmError::Transport(clip(&inner.to_string())),
        ProviderError::Json(inner) => LlmError::MalformedStream(clip(&inner.to_string())),
        ProviderError::Response(message) => LlmError::MalformedStream(clip(message)),
        ProviderError::Truncated => {
            LlmError::MalformedStream("the stream ended before the provider finished its answer".to_owned())
        }
        ProviderError::Url(inner) => LlmError::Config(format!("invalid base URL: {inner}")),
        ProviderError::Request(inner) => LlmError::Config(clip(&inner.to_string())),
        ProviderError::UnsupportedOption(option) => LlmError::Config(clip(&option.to_string())),
        ProviderError::Provider(message) => LlmError::Provider { status: 0, message: clip(message) },
        ProviderError::Relayed(report) => {
            from_status(report.http_status, report.provider_response_body().unwrap_or(&report.message))
        }
        _ => match error.provider_response() {
            Some(response) => from_status(response.status.map(|status| status.as_u16()), &response.body),
            None => LlmError::Provider { status: 0, message: clip(&error.to_string()) },
        },
    };
    (mapped, retry_after)
}

/// An error reply with `status` (none for an error inside a stream) and `body`.
fn from_status(status: Option<u16>, body: &str) -> LlmError {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let message = json.as_ref().and_then(error_message).map(str::to_owned).unwrap_or_else(|| {
        let body = body.trim();
        if body.is_empty() { "no details given".to_owned() } else { body.to_owned() }
    });
    let message = clip(&message);
    let status = status.filter(|status| *status >= 400).or_else(|| json.as_ref().and_then(status_of_error_type));
    match status {
        Some(429) => LlmError::RateLimited { message },
        Some(status) => LlmError::Provider { status, message },
        None => LlmError::Provider { status: 0, message },
    }
}

/// The message of an error body in either provider's shape:
/// `{"error": {"message": …}}`, `{"error": "…"}` or `{"message": …}`.
fn error_message(body: &Value) -> Option<&str> {
    body.pointer("/error/message")
        .or_else(|| body.get("error").filter(|error| error.is_string()))
        .or_else(|| body.get("message"))
        .and_then(Value::as_str)
        .filter(|message| !message.trim().is_empty())
}

/// The HTTP status an error reported inside a stream stands for, by its type
/// (Anthropic's `error.type`, OpenAI's `error.type`/`error.code`).
fn status_of_error_type(body: &Value) -> Option<u16> {
    if let Some(code) = body.pointer("/error/code").and_then(Value::as_u64).and_then(|code| u16::try_from(code).ok())
        && (400..=599).contains(&code)
    {
        return Some(code);
    }
    let kind = body.pointer("/error/type").or_else(|| body.pointer("/error/code")).and_then(Value::as_str)?;
    Some(match kind {
        "rate_limit_error" | "rate_limit_exceeded" | "requests" | "tokens" => 429,
        "overloaded_error" => 529,
        "api_error" | "server_error" => 500,
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "timeout_error" => 504,
        _ => return None,
    })
}

/// The `retry-after` of an error reply, in seconds (the HTTP-date form is ignored).
fn retry_after(error: &ProviderError) -> Option<Duration> {
    let value = error.provider_response_headers()?.get("retry-after")?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// `text` cut to a readable length.
fn clip(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> rig::http_client::StatusCode {
        rig::http_client::StatusCode::from_u16(code).unwrap_or_default()
    }

    #[test]
    fn maps_statuses() {
        let (error, _) = from_rig(&ProviderError::from_http_response(
            status(429),
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        ));
        assert_eq!(error, LlmError::RateLimited { message: "slow down".into() });
        let (error, _) =
            from_rig(&ProviderError::from_http_response(status(503), r#"{"error":{"message":"busy","type":"x"}}"#));
        assert_eq!(error, LlmError::Provider { status: 503, message: "busy".into() });
        assert!(error.is_retryable());
        let (error, _) = from_rig(&ProviderError::from_http_response(status(400), "plain text"));
        assert_eq!(error, LlmError::Provider { status: 400, message: "plain text".into() });
        assert!(!error.is_retryable());
    }

    #[test]
    fn maps_errors_inside_a_stream_by_type() {
        let (error, _) = from_rig(&ProviderError::from_provider_body(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ));
        assert_eq!(error, LlmError::Provider { status: 529, message: "Overloaded".into() });
        assert!(error.is_retryable());
        let (error, _) = from_rig(&ProviderError::from_provider_body(r#"{"error":{"message":"odd"}}"#));
        assert_eq!(error, LlmError::Provider { status: 0, message: "odd".into() });
        assert_eq!(error.to_string(), "the model provider reported an error: odd");
    }

    #[test]
    fn maps_stream_failures() {
        assert!(matches!(from_rig(&ProviderError::Truncated).0, LlmError::MalformedStream(_)));
        assert!(matches!(from_rig(&ProviderError::Response("bad".into())).0, LlmError::MalformedStream(_)));
        let json = serde_json::from_str::<Value>("{nope").err().map(|e| ProviderError::Json(std::sync::Arc::new(e)));
        assert!(matches!(json.map(|e| from_rig(&e).0), Some(LlmError::MalformedStream(_))));
    }

    #[test]
    fn reads_retry_after() {
        let mut headers = rig::http_client::HeaderMap::new();
        headers.insert("retry-after", rig::http_client::HeaderValue::from_static("2"));
        let error = ProviderError::from_http_response(status(429), "{}").with_response_headers(Some(headers));
        assert_eq!(from_rig(&error).1, Some(Duration::from_secs(2)));
    }

    #[test]
    fn clips_long_messages() {
        let long = "x".repeat(2000);
        let (error, _) = from_rig(&ProviderError::from_http_response(status(500), long));
        let LlmError::Provider { message, .. } = error else { return };
        assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}
