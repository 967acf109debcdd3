//! The built web page (`web/dist`), served for every path that no route claims.
//!
//! A path that names no file gets `index.html`, so the page's own routes (`/chat/<id>`) survive a
//! reload. `/api/*` never reaches this service: unknown API paths stay JSON 404s.

use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// The fallback service serving the page's files from `dir`.
pub(crate) fn assets(dir: &Path) -> Router {
    let index = ServeFile::new(dir.join("index.html"));
    Router::new().fallback_service(ServeDir::new(dir).fallback(index))
}
