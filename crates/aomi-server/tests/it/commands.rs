//! GET /api/commands: the direct commands, as the `/` dispatcher knows them.

use aomi_testkit::Script;
use aomi_tools::commands::{self, COMMANDS};
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn the_commands_route_lists_what_the_dispatcher_accepts() {
    let server = TestServer::start(Script::new(), aomi_llm::Provider::Anthropic).await;
    let response = server.get("/api/commands").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let listed = body["commands"].as_array().unwrap();
    assert_eq!(listed.len(), COMMANDS.len());
    for command in listed {
        // The web page's `DirectCommand`: exactly these three strings.
        let mut fields: Vec<&str> = command.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["description", "name", "usage"], "{command}");
        let name = command["name"].as_str().unwrap();
        let usage = command["usage"].as_str().unwrap();
        assert!(usage.starts_with(&format!("/{name}")), "{command}");
        assert!(!command["description"].as_str().unwrap().is_empty());
        // The dispatcher knows it: it runs or explains its usage, never "unknown command".
        match commands::parse(&format!("/{name}")) {
            Some(Ok(_)) => {}
            Some(Err(text)) => assert!(text.starts_with("Usage: "), "/{name}: {text}"),
            None => panic!("/{name} is not a command"),
        }
    }
    // What it does not list, it does not accept.
    assert!(matches!(commands::parse("/frobnicate"), Some(Err(text)) if text.contains("Unknown command")));
    // `/help` shows the same list.
    let help = text_of(&server.turn(&new_chat_id(), "/help").await);
    for command in listed {
        assert!(help.contains(command["usage"].as_str().unwrap()), "{help}");
    }
}
