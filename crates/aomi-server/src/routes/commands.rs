//! GET /api/commands: the direct commands a message can start with.

use axum::Json;
use serde_json::{Value, json};

/// GET /api/commands: `{"commands": [{"name", "description", "usage"}]}`, the list the `/`
/// dispatcher accepts, in the order `/help` shows it.
pub(crate) async fn list_commands() -> Json<Value> {
    Json(json!({ "commands": aomi_tools::commands::COMMANDS }))
}
