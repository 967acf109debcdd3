//! The HTTP routes. Any other path is a JSON 404, unless the server also serves the web page:
//! then only unknown `/api/*` paths are.
//!
//! Each route is registered with its OpenAPI description (`#[utoipa::path]` above its handler),
//! so `GET /api/openapi.json` lists exactly the routes the server serves.

mod auth;
mod batch;
mod branches;
mod chat;
pub(crate) mod chats;
mod commands;
mod contracts;
mod guards;
mod health;
mod networks;
mod simulate;
mod telegram;

use std::sync::LazyLock;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::any;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aomi_core::{Address, AddressError};

use crate::{ApiError, AppState};

/// An address a request names as `field`: `0x` and 40 hex digits, mixed case only with a valid
/// EIP-55 checksum. Otherwise a 400 that says it is not `kind` ("an address", "a wallet address"),
/// or that its checksum is wrong (a mistyped character, caught rather than used).
pub(crate) fn request_address(field: &str, kind: &str, text: &str) -> Result<Address, ApiError> {
    Address::parse(text).map_err(|error| {
        ApiError::bad_request(match error {
            AddressError::Malformed(echo) => format!("{field} \"{echo}\" is not {kind} (0x followed by 40 hex digits)"),
            AddressError::BadChecksum(_) => format!("{field} {error}"),
        })
    })
}

/// The document's parts that no route carries: its title, its tags, and the schemas that only
/// descriptions name.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aomi",
        description = "The HTTP API of aomi, a chat assistant for EVM chains. Chat turns stream as the AI SDK UI \
                       message stream protocol (SSE). Errors answer `{\"error\": {\"code\", \"message\"}}`."
    ),
    tags(
        (name = "chat", description = "Turns, their streams, apps, models and direct commands"),
        (name = "history", description = "A wallet's chats: list, open, rename, archive, delete, search"),
        (name = "auth", description = "Sign-in with the wallet (EIP-4361), and binding it to a Telegram account"),
        (name = "chain", description = "Networks, simulation, the contract database"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    ),
    components(schemas(crate::api::ErrorBody, aomi_core::UiChunk))
)]
struct ApiDoc;

/// The routes with their descriptions.
fn api() -> OpenApiRouter<AppState> {
    // The tools' outputs and `data-*` parts travel inside the stream's parts; they are described
    // as components so that the page's types are generated from them too.
    let doc = ApiDoc::openapi().merge_from(aomi_tools::ToolSchemas::openapi());
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(chat::post_chat))
        .routes(routes!(chat::resume_stream))
        .routes(routes!(chat::stop_turn))
        .routes(routes!(chats::list_chats))
        .routes(routes!(chats::get_chat, chats::update_chat, chats::delete_chat))
        .routes(routes!(branches::switch_branch))
        .routes(routes!(batch::get_batch))
        .routes(routes!(batch::remove_step))
        .routes(routes!(chats::search))
        .routes(routes!(health::list_apps))
        .routes(routes!(health::list_models))
        .routes(routes!(auth::post_challenge))
        .routes(routes!(auth::post_verify))
        .routes(routes!(auth::get_session, auth::delete_session))
        .routes(routes!(auth::delete_all_sessions))
        .routes(routes!(guards::get_guards, guards::put_guards))
        .routes(routes!(commands::list_commands))
        .routes(routes!(networks::list_networks))
        .routes(routes!(simulate::post_simulate))
        .routes(routes!(contracts::get_contract))
        .routes(routes!(telegram::post_link))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(crate::metrics::serve_metrics))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of every route, as `GET /api/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().split_for_parts().1;
    rate_limited_everywhere(&mut doc);
    doc
}

/// Every route but the probes is rate-limited (`crate::limits`): a 429 any operation may answer
/// that does not name one of its own.
fn rate_limited_everywhere(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let limited = ResponseBuilder::new()
        .description("Too many requests from this client or session (`rate_limited`; `Retry-After` says when to retry)")
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        if path == "/healthz" || path == "/readyz" {
            continue;
        }
        let operations = [&mut item.get, &mut item.post, &mut item.patch, &mut item.delete, &mut item.put];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.entry("429".into()).or_insert_with(|| limited.clone().into());
        }
    }
}

/// The document as JSON text, made once.
static OPENAPI_JSON: LazyLock<String> =
    LazyLock::new(|| openapi().to_pretty_json().unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}")));

/// GET /api/openapi.json: this API's OpenAPI document, generated from the code.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value)))]
async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str())
}

pub(crate) fn routes() -> Router<AppState> {
    let (routes, _) = api().split_for_parts();
    routes.route("/api/{*rest}", any(health::not_found)).fallback(health::not_found)
}
