//! The apps beside the default one, served by the same backend and chosen per request.

use std::sync::Arc;

use aomi_agent::{ANALYST_APP, AnalystApp, BATCH_APP, BatchApp, BatchAppConfig, DefaultAppConfig};
use aomi_chain::{ChainSessions, NetworkRegistry};
use aomi_core::{AomiApp, FinishReason, UiChunk};
use aomi_llm::{Provider, SubroutineModel};
use aomi_testkit::{Match, Reply, Script, StubModel};
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

/// A read that ends only once `parties` calls of it run at the same time: two reads run one after
/// the other fail it, so it proves the plan's reads are concurrent.
struct BarrierRead {
    barrier: Arc<tokio::sync::Barrier>,
}

impl aomi_core::Tool for BarrierRead {
    fn spec(&self) -> aomi_core::ToolSpec {
        aomi_core::ToolSpec {
            name: "barrier_read".into(),
            description: "A read that waits for the other reads of its plan.".into(),
            parameters: json!({ "type": "object", "properties": { "key": { "type": "string" } } }),
        }
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        _ctx: aomi_core::ToolContext,
    ) -> aomi_core::BoxFuture<'a, Result<aomi_core::ToolOutput, aomi_core::ToolError>> {
        Box::pin(async move {
            let key = args["key"].as_str().unwrap_or_default().to_owned();
            match tokio::time::timeout(std::time::Duration::from_secs(3), self.barrier.wait()).await {
                Ok(_) => Ok(aomi_core::ToolOutput::new(json!({ "key": key, "value": 42 }), format!("{key} = 42"))),
                Err(_) => Err(aomi_core::ToolError::Failed("the other read did not run at the same time".into())),
            }
        })
    }
}

const PLAN: &str = r#"{"reads": [{"tool": "barrier_read", "arguments": {"key": "alpha"}}, {"tool": "barrier_read", "arguments": {"key": "beta"}}], "action": null}"#;
const BATCH_ANSWER: &str = "alpha and beta are both 42.";

fn batch_server_options() -> Options {
    let mut options = Options::new(Provider::Anthropic);
    options.extra_tools = ToolRegistry::new().with(BarrierRead { barrier: Arc::new(tokio::sync::Barrier::new(2)) });
    options.extra_app = Some(Box::new(|llm, tools: ToolRegistry| {
        Arc::new(BatchApp::new(llm, tools, BatchAppConfig::default())) as Arc<dyn AomiApp>
    }));
    options
}

fn batch_body(chat: &str, text: &str) -> serde_json::Value {
    let mut body = user_body(chat, text);
    body["app"] = json!(BATCH_APP);
    body
}

/// The `data-plan` parts of a turn, in order.
fn plans(parts: &[UiChunk]) -> Vec<&serde_json::Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Data { name, data, .. } if name == "plan" => Some(data),
            _ => None,
        })
        .collect()
}

fn states(plan: &serde_json::Value) -> Vec<&str> {
    plan["steps"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_batch_app_streams_its_plan_runs_the_reads_at_once_and_answers() {
    let script = Script::new().then(Reply::text(PLAN)).then(Reply::text(BATCH_ANSWER));
    let server = TestServer::start_with(script, batch_server_options()).await;
    let chat = new_chat_id();
    let parts = read_stream(server.post(&batch_body(&chat, "what are alpha and beta?")).await).await;

    assert_eq!(tool_errors_of(&parts), Vec::<String>::new(), "both reads met at the barrier: they ran at once");
    let plans = plans(&parts);
    assert_eq!(states(plans[0]), ["running", "running"], "the plan streams before its reads end");
    assert_eq!(states(plans.last().unwrap()), ["done", "done"], "{plans:?}");
    let summaries: Vec<&str> =
        plans.last().unwrap()["steps"].as_array().unwrap().iter().map(|s| s["summary"].as_str().unwrap()).collect();
    assert_eq!(summaries, ["alpha = 42", "beta = 42"]);
    assert_eq!(text_of(&parts), BATCH_ANSWER);
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));

    // Two model calls: the plan (a subroutine with the plan's schema), then the answer, which sees
    // both results and may call no tool.
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 2);
    let planner = requests[0].body.to_string();
    assert!(planner.contains("reads") && planner.contains("barrier_read"), "the schema and tools: {planner}");
    let answer_request = requests[1].body.to_string();
    assert!(answer_request.contains("alpha = 42") || answer_request.contains("\\\"alpha\\\""), "{answer_request}");
    assert_eq!(requests[1].body["tool_choice"]["type"], "none", "{}", requests[1].body["tool_choice"]);
    // The stored message keeps the plan's last state.
    let stored = server.messages(&chat).await;
    let stored = serde_json::to_value(&stored[1]).unwrap();
    let plan = stored["parts"].as_array().unwrap().iter().find(|p| p["type"] == "data-plan").unwrap();
    assert_eq!(states(&plan["data"]), ["done", "done"]);
}

#[tokio::test]
async fn the_plan_runs_on_the_planner_model_and_the_answer_on_the_chats() {
    // `batch_plan_model`: the plan is a subroutine on its own model (here a second stub).
    let planner = StubModel::start(Script::new().then(Reply::text(PLAN))).await.unwrap();
    let planner_client = side_model_client(&planner, "planner-model");
    let mut options = batch_server_options();
    options.extra_app = Some(Box::new(move |llm, tools: ToolRegistry| {
        let app = BatchApp::new(llm, tools, BatchAppConfig::default());
        Arc::new(app.with_planner(SubroutineModel::Fixed(planner_client))) as Arc<dyn AomiApp>
    }));
    let server = TestServer::start_with(Script::new().then(Reply::text(BATCH_ANSWER)), options).await;
    let parts = read_stream(server.post(&batch_body(&new_chat_id(), "what are alpha and beta?")).await).await;
    assert_eq!(text_of(&parts), BATCH_ANSWER);
    assert_eq!(states(plans(&parts).last().unwrap()), ["done", "done"]);

    let planned = planner.requests();
    assert_eq!(planned.len(), 1, "the planner model wrote the plan");
    assert_eq!(planned[0].body["model"], "planner-model");
    assert!(planned[0].body.to_string().contains("barrier_read"), "{}", planned[0].body);
    let answered = server.stub.requests();
    assert_eq!(answered.len(), 1, "the chat's model only answered");
    assert_eq!(answered[0].body["tool_choice"]["type"], "none");
    assert_ne!(answered[0].body["model"], "planner-model");
}

#[tokio::test]
async fn a_bad_plan_is_repaired_once_then_the_failure_is_the_answer() {
    let bad = r#"{"reads": [{"tool": "send_everything", "arguments": {}}], "action": null}"#;
    // Repaired: the second plan is good.
    let script = Script::new().then(Reply::text(bad)).then(Reply::text(PLAN)).then(Reply::text(BATCH_ANSWER));
    let server = TestServer::start_with(script, batch_server_options()).await;
    let parts = read_stream(server.post(&batch_body(&new_chat_id(), "alpha and beta?")).await).await;
    assert_eq!(text_of(&parts), BATCH_ANSWER);
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests[1].body.to_string().contains("\\\"send_everything\\\" is not one of the listed tools"),
        "the repair says why: {}",
        requests[1].body
    );

    // Bad twice: the failure is said, nothing runs.
    server.stub.set_script(Script::new().then(Reply::text(bad)).then(Reply::text("not even json")));
    let parts = read_stream(server.post(&batch_body(&new_chat_id(), "alpha and beta?")).await).await;
    assert!(text_of(&parts).starts_with("I could not make a valid plan"), "{}", text_of(&parts));
    assert!(plans(&parts).is_empty() && !parts.iter().any(|p| matches!(p, UiChunk::ToolInputStart { .. })));
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
}
