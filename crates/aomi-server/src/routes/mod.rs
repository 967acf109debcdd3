//! The HTTP routes. Any other path is a JSON 404, unless the server also serves the web page:
//! then only unknown `/api/*` paths are.

mod auth;
mod chat;
pub(crate) mod chats;
mod commands;
mod contracts;
mod health;
mod networks;
mod simulate;

use axum::Router;
use axum::routing::{any, delete, get, post};

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/chat", post(chat::post_chat))
        .route("/api/chat/{id}/stream", get(chat::resume_stream))
        .route("/api/chat/{id}/stop", post(chat::stop_turn))
        .route("/api/chats", get(chats::list_chats))
        .route("/api/chats/{id}", get(chats::get_chat).patch(chats::update_chat).delete(chats::delete_chat))
        .route("/api/search", get(chats::search))
        .route("/api/apps", get(health::list_apps))
        .route("/api/auth/challenge", post(auth::post_challenge))
        .route("/api/auth/verify", post(auth::post_verify))
        .route("/api/auth/session", get(auth::get_session).delete(auth::delete_session))
        .route("/api/auth/sessions", delete(auth::delete_all_sessions))
        .route("/api/commands", get(commands::list_commands))
        .route("/api/networks", get(networks::list_networks))
        .route("/api/simulate", post(simulate::post_simulate))
        .route("/api/contracts/{chain}/{address}", get(contracts::get_contract))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::serve_metrics))
        .route("/api/{*rest}", any(health::not_found))
        .fallback(health::not_found)
}
