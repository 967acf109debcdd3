//! Security headers on every answer: the page, its assets, the API, errors and streams.
//!
//! - `Content-Security-Policy`: the page loads scripts, styles, fonts and frames only from its own
//!   origin, images from its origin and `data:` (no remote image a model's text could point at),
//!   talks only to its own origin (plus [`SecurityHeaders::connect_src`], for a page built with a
//!   wallet SDK that has its own servers), and cannot be framed (`frame-ancestors 'none'`), have its
//!   base URL changed, post forms elsewhere or embed plugins. A wallet extension's own requests are
//!   not the page's and are not affected.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (no chat address in any
//!   referrer), `X-Frame-Options: DENY` (frame-ancestors for older browsers).
//!
//! A header a handler set itself is kept.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Why a configured source cannot go into the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a Content-Security-Policy source (one origin or scheme, such as https://relay.example.org)")]
pub struct BadSource(pub String);

/// The headers every answer carries.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers, with `connect_src` (origins such as `https://relay.example.org` or
    /// `wss://relay.example.org`) allowed for the page's requests beside its own origin.
    pub fn new(connect_src: &[String]) -> Result<Self, BadSource> {
        for source in connect_src {
            let plain = !source.is_empty()
                && source.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"'));
            if !plain {
                return Err(BadSource(source.clone()));
            }
        }
        let connect = std::iter::once("'self'").chain(connect_src.iter().map(String::as_str)).collect::<Vec<_>>();
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
             connect-src {}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
             object-src 'none'",
            connect.join(" ")
        );
        let policy = HeaderValue::from_str(&policy).map_err(|_| BadSource(connect_src.join(" ")))?;
        Ok(SecurityHeaders {
            headers: vec![
                (CONTENT_SECURITY_POLICY, policy),
                (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
                (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            ],
        })
    }

    /// The `Content-Security-Policy` value.
    pub fn policy(&self) -> &str {
        self.headers.first().and_then(|(_, value)| value.to_str().ok()).unwrap_or_default()
    }
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        // No extra source: nothing to refuse.
        SecurityHeaders::new(&[]).unwrap_or(SecurityHeaders { headers: Vec::new() })
    }
}

/// The middleware: adds the headers to every answer that does not have them.
pub(crate) async fn add(
    State(headers): State<std::sync::Arc<SecurityHeaders>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in &headers.headers {
        if !response.headers().contains_key(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn extra_sources_join_connect_src_and_bad_ones_are_refused() {
        let headers =
            SecurityHeaders::new(&["https://relay.example.org".into(), "wss://relay.example.org".into()]).unwrap();
        assert!(headers.policy().contains("connect-src 'self' https://relay.example.org wss://relay.example.org;"));
        assert!(SecurityHeaders::default().policy().contains("connect-src 'self';"));
        for bad in ["", "https://a.example; script-src *", "https://a.example,x", "'unsafe-inline'", "a b", "é"] {
            assert_eq!(SecurityHeaders::new(&[bad.into()]).unwrap_err(), BadSource(bad.into()), "{bad}");
        }
    }
}
