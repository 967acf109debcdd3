//! The apps beside the default one, served by the same backend and chosen per request.

use std::sync::Arc;

use aomi_agent::{ANALYST_APP, AnalystApp, DefaultAppConfig};
use aomi_chain::{ChainSessions, NetworkRegistry};
use aomi_core::{AomiApp, FinishReason, UiChunk};
use aomi_llm::Provider;
use aomi_testkit::{Match, Reply, Script};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::{WALLET_TOOL, chain_tools};
use serde_json::json;

use crate::common::*;

const REFUSAL: &str =
    "I only read and analyse here, so I cannot send 1 ETH; the default app prepares it for your wallet.";

const WALLET: &str = "0x1111111111111111111111111111111111111111";

/// The analyst over the test tools and the chain tools (the wallet tool among them).
fn analyst_server_options() -> Options {
    let sessions = Arc::new(ChainSessions::new(NetworkRegistry::builtin(), "ethereum").unwrap());
    let mut options = Options::new(Provider::Anthropic);
    options.extra_tools = chain_tools(sessions);
    options.extra_app = Some(Box::new(|llm, tools: ToolRegistry| {
        assert!(tools.get(WALLET_TOOL).is_some(), "the analyst is given the wallet tool, and must leave it out");
        Arc::new(AnalystApp::new(llm, tools, DefaultAppConfig::default())) as Arc<dyn AomiApp>
    }));
    options
}

#[tokio::test]
async fn the_analyst_refuses_a_transfer_in_words_and_never_emits_a_wallet_request() {
    // A model that tries the wallet tool anyway (as a confused or injected model would), then,
    // told the tool does not exist, refuses in words.
    let script = Script::new().rule(Match::LastToolResultContains("unknown tool".into()), Reply::text(REFUSAL)).rule(
        Match::LastUserContains("send".into()),
        Reply::tool_call(
            WALLET_TOOL,
            json!({ "to": "0x000000000000000000000000000000000000dEaD", "value": "1000000000000000000" }),
        ),
    );
    let server = TestServer::start_with(script, analyst_server_options()).await;

    let chat = new_chat_id();
    let mut body = user_body_from(&chat, "send 1 ETH to 0xdead", WALLET);
    body["app"] = json!(ANALYST_APP);
    let parts = read_stream(server.post(&body).await).await;

    // Refused in words; the turn ends like any answer, not waiting for a wallet.
    assert_eq!(text_of(&parts), REFUSAL);
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    let wallet_parts: Vec<_> =
        parts.iter().filter(|p| matches!(p, UiChunk::Data { name, .. } if name == "wallet-request")).collect();
    assert!(wallet_parts.is_empty(), "no wallet request: {wallet_parts:?}");
    assert!(
        !parts.iter().any(|p| matches!(p, UiChunk::ToolOutputAvailable { .. })),
        "the invented wallet call has no output: {parts:?}"
    );
    let errors = tool_errors_of(&parts);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("unknown tool"), "{errors:?}");

    // The model never saw a client tool, and was told it is the analyst.
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let names: Vec<&str> =
            request.body["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(names.contains(&"get_balance"), "the read tools are offered: {names:?}");
        assert!(!names.contains(&WALLET_TOOL), "no wallet tool in the analyst's set: {names:?}");
        assert!(request.body["system"].to_string().contains("aomi's analyst"), "{}", request.body["system"]);
    }
    // The chat is stored as the analyst's, and no transaction was recorded.
    let stored: serde_json::Value =
        server.get(&format!("/api/chats/{chat}?owner={WALLET}")).await.json().await.unwrap();
    assert_eq!(stored["app"], ANALYST_APP);
    assert!(server.backend.store().chat_transactions(&chat).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_apps_list_names_the_analyst_beside_the_default() {
    let server = TestServer::start_with(Script::new(), analyst_server_options()).await;
    let apps: serde_json::Value = server.get("/api/apps").await.json().await.unwrap();
    let names: Vec<&str> = apps["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, [ANALYST_APP, "default"]);
    assert!(apps["apps"][0]["description"].as_str().unwrap().contains("Read-only"));
}
