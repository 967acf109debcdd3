//! MCP both ways: aomi's MCP server at `/mcp` driven by rmcp's client (tools, history resources,
//! search, who may read what, limits), and an external MCP server written with the official
//! TypeScript SDK (`tools/mcp/test-server.mjs`) whose tools join a turn.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aomi_chain::alloy::primitives::{Address, U256};
use aomi_chain::alloy::providers::Provider;
use aomi_chain::alloy::rpc::types::TransactionRequest;
use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::UiChunk;
use aomi_llm::Provider as ModelProvider;
use aomi_server::auth::{Auth, AuthConfig, AuthMode};
use aomi_server::limits::Limits;
use aomi_testkit::{Match, Reply, Script};
use aomi_tools::mcp::{McpServerConfig, McpTransport};
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::common::*;

const WALLET_A: &str = "0x00000000000000000000000000000000000000a1";
const WALLET_B: &str = "0x00000000000000000000000000000000000000b2";

async fn client(url: &str) -> RunningService<RoleClient, ()> {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_owned())).await.expect("the MCP session opens")
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let request = CallToolRequestParams::new(name.to_owned()).with_arguments(args.as_object().unwrap().clone());
    client.call_tool(request).await.expect("tools/call answers")
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

async fn mcp_server(script: Script, options: Options) -> TestServer {
    TestServer::start_with(script, Options { mcp: true, ..options }).await
}

#[tokio::test]
async fn mcp_serves_the_read_tools_and_simulate_but_never_the_wallet_tool() {
    let devnet = Devnet::start().await.unwrap();
    let mut registry = NetworkRegistry::builtin();
    registry.set_rpc_url("devnet", devnet.url()).unwrap();
    let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
    let options = Options { chain: Some(sessions), ..Options::new(ModelProvider::OpenAi) };
    let server = mcp_server(Script::new(), options).await;
    let client = client(&format!("{}/mcp", server.url)).await;

    let names: Vec<String> = client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.into_owned()).collect();
    for expected in ["get_balance", "get_contract", "call_view_function", "simulate", "search_history"] {
        assert!(names.contains(&expected.to_owned()), "{expected} in {names:?}");
    }
    for refused in ["send_transaction_to_wallet", "switch_network"] {
        assert!(!names.contains(&refused.to_owned()), "{refused} is not served: {names:?}");
    }

    // A balance set on anvil just now comes back exactly.
    let random = [*uuid::Uuid::new_v4().as_bytes(), *uuid::Uuid::new_v4().as_bytes()].concat();
    let holder = Address::from_slice(&random[..20]);
    let wei = U256::from(rand_wei());
    let tip = TransactionRequest::default().from(devnet.accounts()[9]).to(holder).value(wei);
    devnet.provider().send_transaction(tip).await.unwrap().get_receipt().await.unwrap();
    let balance = call(&client, "get_balance", json!({ "address": holder.to_string() })).await;
    assert_eq!(balance.is_error, Some(false), "{}", text(&balance));
    assert_eq!(balance.structured_content.as_ref().unwrap()["wei"], wei.to_string());

    // A transfer prepared over MCP is an unsigned request with its simulation; nothing is sent.
    let from = devnet.accounts()[0];
    let nonce_before = devnet.provider().get_transaction_count(from).await.unwrap();
    let prepared = call(
        &client,
        "simulate",
        json!({ "from": from.to_string(), "to": holder.to_string(), "value": "1000", "description": "a tip" }),
    )
    .await;
    assert_eq!(prepared.is_error, Some(false), "{}", text(&prepared));
    let data = prepared.structured_content.clone().unwrap();
    assert_eq!(data["request"]["to"].as_str().unwrap().to_lowercase(), holder.to_string().to_lowercase());
    assert_eq!(data["request"]["value"], "1000");
    assert_eq!(data["simulation"]["success"], true, "{data}");
    assert!(text(&prepared).contains("Not sent"), "{}", text(&prepared));
    assert_eq!(devnet.provider().get_transaction_count(from).await.unwrap(), nonce_before, "nothing was sent");
    assert_eq!(devnet.provider().get_balance(holder).await.unwrap(), wei);

    // A tool's failure is a tool error the caller reads, not a protocol error.
    let bad = call(&client, "get_balance", json!({ "address": "0x12" })).await;
    assert_eq!(bad.is_error, Some(true));
    assert!(text(&bad).contains("invalid arguments"), "{}", text(&bad));
}

fn rand_wei() -> u64 {
    1_000_000 + u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 7919
}

#[tokio::test]
async fn the_history_is_the_callers_own_and_no_one_elses() {
    let server = mcp_server(Script::new().fallback(Reply::text("Noted.")), Options::new(ModelProvider::OpenAi)).await;
    let word = format!("zebra{}", uuid::Uuid::new_v4().simple());
    let chat = new_chat_id();
    let response = server.post(&user_body_from(&chat, &format!("remember the word {word}"), WALLET_A)).await;
    assert_eq!(response.status(), 200);
    read_stream(response).await;
    let uri = format!("aomi://chats/{chat}");

    let a = client(&format!("{}/mcp?owner={WALLET_A}", server.url)).await;
    let resources = a.list_all_resources().await.unwrap();
    assert_eq!(resources.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>(), [uri.as_str()]);
    let read = a.read_resource(ReadResourceRequestParams::new(uri.clone())).await.unwrap();
    let ResourceContents::TextResourceContents { text: body, .. } = &read.contents[0] else { panic!("text") };
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["id"], chat);
    assert!(body["messages"][0]["parts"][0]["text"].as_str().unwrap().contains(&word), "{body}");
    assert_eq!(body["messages"][1]["role"], "assistant");
    let found = call(&a, "search_history", json!({ "query": word })).await;
    assert_eq!(found.structured_content.unwrap()["results"][0]["chatId"], chat);

    // Another wallet sees nothing of it: not listed, not readable (not even said to exist), not found.
    let b = client(&format!("{}/mcp?owner={WALLET_B}", server.url)).await;
    assert!(b.list_all_resources().await.unwrap().is_empty());
    let refused = b.read_resource(ReadResourceRequestParams::new(uri.clone())).await.unwrap_err();
    assert!(refused.to_string().contains("no chat resource"), "{refused}");
    let none = call(&b, "search_history", json!({ "query": word })).await;
    assert_eq!(none.structured_content.unwrap()["results"], json!([]));
    // Nor does a caller that names no wallet.
    let anonymous = client(&format!("{}/mcp", server.url)).await;
    assert!(anonymous.list_all_resources().await.unwrap().is_empty());
    assert!(anonymous.read_resource(ReadResourceRequestParams::new(uri)).await.is_err());
}

/// A raw MCP `initialize` POST, as any client's first request.
async fn initialize(server: &TestServer, query: &str, cookie: Option<&str>, body: Option<String>) -> reqwest::Response {
    let body = body.unwrap_or_else(|| {
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } }
        })
        .to_string()
    });
    let mut request = server
        .http
        .post(format!("{}/mcp{query}", server.url))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn where_sign_in_is_required_mcp_needs_a_session() {
    let auth = Auth::new(AuthConfig {
        mode: AuthMode::Required,
        secret: Some("a test secret of at least thirty-two bytes".into()),
        ..AuthConfig::default()
    })
    .unwrap();
    let server = mcp_server(Script::new(), Options { auth: Some(auth), ..Options::new(ModelProvider::OpenAi) }).await;
    for query in ["", &format!("?owner={WALLET_A}")] {
        let response = initialize(&server, query, None, None).await;
        assert_eq!(response.status(), 401, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "sign_in_required");
    }
    // A forged cookie is no session.
    let response = initialize(&server, "", Some("aomi_session=00.00"), None).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn mcp_requests_pass_the_body_and_rate_limits_and_other_sites_are_refused() {
    let limits = Limits { ip_rate: 1, ip_burst: 3, ..Limits::default() };
    let options = Options { body_limit: 4096, limits: Some(limits), ..Options::new(ModelProvider::OpenAi) };
    let server = mcp_server(Script::new(), options).await;
    let ok = initialize(&server, "", None, None).await;
    assert_eq!(ok.status(), 200, "{:?}", ok.text().await);
    let huge = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping", "params": { "pad": "x".repeat(10_000) } });
    assert_eq!(initialize(&server, "", None, Some(huge.to_string())).await.status(), 413);
    // Another site's page (DNS rebinding, a browser's cross-site POST) is refused.
    let foreign = server
        .http
        .post(format!("{}/mcp", server.url))
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    // The burst is spent: the next request waits.
    let limited = initialize(&server, "", None, None).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
}

/// A tool that waits at a gate: it says when a call entered, and returns once the gate opens.
#[derive(Clone)]
struct GateTool {
    entered: Arc<tokio::sync::Notify>,
    gate: Arc<tokio::sync::Notify>,
}

impl aomi_core::Tool for GateTool {
    fn spec(&self) -> aomi_core::ToolSpec {
        aomi_core::ToolSpec {
            name: "gate".into(),
            description: "Waits at the test's gate.".into(),
            parameters: json!({ "type": "object", "properties": {} }),
        }
    }

    fn call<'a>(
        &'a self,
        _args: Value,
        _ctx: aomi_core::ToolContext,
    ) -> aomi_core::BoxFuture<'a, Result<aomi_core::ToolOutput, aomi_core::ToolError>> {
        Box::pin(async move {
            self.entered.notify_one();
            self.gate.notified().await;
            Ok(aomi_core::ToolOutput::new(json!({ "passed": true }), "passed the gate"))
        })
    }
}

#[tokio::test]
async fn each_mcp_tool_call_counts_as_a_running_turn_of_its_caller() {
    let gate = GateTool { entered: Arc::default(), gate: Arc::default() };
    let limits = Limits { turns_per_client: 1, ..Limits::default() };
    let extra_tools = aomi_tools::ToolRegistry::new().with(gate.clone());
    let options = Options { limits: Some(limits), extra_tools, ..Options::new(ModelProvider::OpenAi) };
    let server = mcp_server(Script::new(), options).await;
    let first = client(&format!("{}/mcp?owner={WALLET_A}", server.url)).await;
    let second = client(&format!("{}/mcp?owner={WALLET_A}", server.url)).await;
    let other = client(&format!("{}/mcp?owner={WALLET_B}", server.url)).await;
    let held = tokio::spawn(async move { call(&first, "gate", json!({})).await });
    gate.entered.notified().await;
    // The first call holds wallet A's one slot: A's next call is refused, B's is not.
    let refused = call(&second, "get_current_time", json!({})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("turns of yours are running"), "{}", text(&refused));
    let elsewhere = call(&other, "get_current_time", json!({})).await;
    assert_eq!(elsewhere.is_error, Some(false), "another wallet is not held up: {}", text(&elsewhere));
    gate.gate.notify_one();
    assert_eq!(held.await.unwrap().is_error, Some(false));
    // Once it ended, the slot is free again.
    assert_eq!(call(&second, "get_current_time", json!({})).await.is_error, Some(false));
}

/// The external test server (official TypeScript SDK), started by aomi's MCP client.
fn external(nonce: &str, timeout: Duration) -> McpServerConfig {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/mcp/test-server.mjs");
    let env = BTreeMap::from([("AOMI_TEST_MCP_NONCE".to_owned(), nonce.to_owned())]);
    let mut config =
        McpServerConfig::new("ext", McpTransport::Command { program: "node".into(), args: vec![script.into()], env });
    config.timeout = Some(timeout);
    config
}

#[tokio::test]
async fn an_external_mcp_tool_runs_in_a_turn_and_its_result_reaches_the_model() {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let tools =
        aomi_tools::mcp::connect(&external(&nonce, Duration::from_secs(10))).await.expect("the server connects");
    assert_eq!(tools.names(), ["ext_fail", "ext_hang", "ext_lookup"]);
    let script = Script::new()
        .rule(Match::LastToolResultContains("reversed is".into()), Reply::text("Looked up."))
        .rule(Match::LastToolResultContains("refuses".into()), Reply::text("It refused."))
        .rule(Match::LastUserContains("look up".into()), Reply::tool_call("ext_lookup", json!({ "word": "aomi" })))
        .rule(Match::LastUserContains("fail".into()), Reply::tool_call("ext_fail", json!({})));
    let options = Options { extra_tools: tools, ..Options::new(ModelProvider::OpenAi) };
    let server = TestServer::start_with(script, options).await;

    let parts = server.turn(&new_chat_id(), "look up aomi").await;
    // Shown like any tool call: its input, then its output.
    assert!(
        parts.iter().any(|p| matches!(p, UiChunk::ToolInputAvailable { tool_name, .. } if tool_name == "ext_lookup"))
    );
    let output = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolOutputAvailable { output, .. } => Some(output.clone()),
            _ => None,
        })
        .expect("the tool's output is streamed");
    let answer = format!("aomi reversed is imoa (nonce {nonce})");
    assert_eq!(output["data"], answer.as_str());
    assert_eq!(text_of(&parts), "Looked up.");
    // The model received the external server's answer, nonce included.
    let requests = server.stub.requests();
    let last = requests.last().unwrap();
    assert!(last.last_tool_result.as_deref().unwrap_or_default().contains(&answer), "{:?}", last.last_tool_result);
    // The model also saw the tool offered, with the server's schema.
    assert!(requests[0].body.to_string().contains("ext_lookup"));

    // An MCP error result is a tool error, explained by the model.
    let parts = server.turn(&new_chat_id(), "make it fail").await;
    let errors = tool_errors_of(&parts);
    assert!(errors[0].contains(&format!("the test server refuses (nonce {nonce})")), "{errors:?}");
    assert_eq!(text_of(&parts), "It refused.");
}

#[tokio::test]
async fn an_external_mcp_tool_that_hangs_times_out_visibly() {
    let tools = aomi_tools::mcp::connect(&external("hang", Duration::from_millis(500))).await.unwrap();
    let script = Script::new()
        .rule(Match::LastToolResultContains("timed out".into()), Reply::text("The lookup timed out."))
        .rule(Match::LastUserContains("hang".into()), Reply::tool_call("ext_hang", json!({})));
    let options = Options { extra_tools: tools, ..Options::new(ModelProvider::OpenAi) };
    let server = TestServer::start_with(script, options).await;
    let parts = server.turn(&new_chat_id(), "hang please").await;
    assert_eq!(tool_errors_of(&parts), ["timed out after 0.5 s"]);
    assert_eq!(text_of(&parts), "The lookup timed out.");
    assert_eq!(finish_reason(&parts), Some(aomi_core::FinishReason::Stop));
}

#[tokio::test]
async fn an_external_mcp_server_over_http_with_a_bearer_token_gives_its_tools() {
    use std::io::{BufRead, BufReader};
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/mcp/test-server.mjs");
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let token = uuid::Uuid::new_v4().simple().to_string();
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = std::process::Command::new("node")
        .args([script, "--http"])
        .env("AOMI_TEST_MCP_NONCE", &nonce)
        .env("AOMI_TEST_MCP_TOKEN", &token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let config = |bearer_token: Option<String>| {
        McpServerConfig::new("web", McpTransport::Url { url: url.clone(), bearer_token })
    };
    // Without its token the server refuses, and the error says which server.
    let refused = aomi_tools::mcp::connect(&config(None)).await.unwrap_err();
    assert!(refused.to_string().contains("MCP server \"web\""), "{refused}");
    let tools = aomi_tools::mcp::connect(&config(Some(token))).await.unwrap();
    assert_eq!(tools.names(), ["web_fail", "web_hang", "web_lookup"]);
    let ctx = aomi_core::ToolContext::new("chat", "call", None, None);
    let output = tools.get("web_lookup").unwrap().call(json!({ "word": "abc" }), ctx).await.unwrap();
    assert_eq!(output.data, format!("abc reversed is cba (nonce {nonce})").as_str());
}
