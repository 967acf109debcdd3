//! GET /api/commands: the direct commands a message can start with.

use axum::Json;

use crate::api::{Command, CommandList};

/// GET /api/commands: `{"commands": [{"name", "description", "usage"}]}`, the list the `/`
/// dispatcher accepts, in the order `/help` shows it.
#[utoipa::path(get, path = "/api/commands", tag = "chat",
    responses((status = 200, description = "The direct commands", body = CommandList)))]
pub(crate) async fn list_commands() -> Json<CommandList> {
    let commands = aomi_tools::commands::COMMANDS
        .iter()
        .map(|c| Command { name: c.name.into(), description: c.description.into(), usage: c.usage.into() })
        .collect();
    Json(CommandList { commands })
}
