//! Long chats within the model's budget: a 200-turn chat whose every turn reads a large tool
//! output, against a stub model that refuses any request over its context, with compaction by a
//! utility model on another server.

use std::time::Instant;

use aomi_core::{BoxFuture, Tool, ToolContext, ToolError, ToolOutput, ToolSpec};
use aomi_llm::compaction::CompactionSettings;
use aomi_llm::{LlmClient, Provider};
use aomi_server::limits::Limits;
use aomi_testkit::{Match, RecordedRequest, Reply, Script, StubModel};
use aomi_tools::ToolRegistry;
use serde_json::{Value, json};

use crate::common::{Options, TestServer, errors_of, new_chat_id, text_of};

/// The chat model's context, in the stub's tokens (four characters of the request's JSON).
const CONTEXT: u64 = 8_000;
/// The history budget the app keeps to, leaving room for the system prompt and the tools.
const BUDGET: usize = 5_000;
/// Bytes of each report.
const REPORT_BYTES: usize = 8_000;
/// What the user says at turn 1 and must still be known at turn 200.
const FACT: &str = "ZEBRA-1234";

/// A tool whose every output is a large report.
struct BigReport;

impl Tool for BigReport {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "big_report".into(),
            description: "Reads a long report.".into(),
            parameters: json!({ "type": "object", "properties": { "topic": { "type": "string" } } }),
        }
    }

    fn call<'a>(&'a self, _args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let body = "REPORT line: balances, logs and source of the vault contract. ".repeat(REPORT_BYTES / 62);
            Ok(ToolOutput::new(json!({ "report": body }), "a long report"))
        })
    }
}

fn chat_script() -> Script {
    Script::new()
        .rule(Match::LastUserContains("turn ".into()), Reply::tool_call("big_report", json!({ "topic": "vault" })))
        .rule(Match::LastToolResultContains("REPORT".into()), Reply::text("Here is what the report says."))
        .context_limit(CONTEXT)
}

fn utility_client(stub: &StubModel) -> LlmClient {
    crate::common::side_model_client(stub, "utility-model")
}

fn settings() -> CompactionSettings {
    CompactionSettings {
        old_tool_output_bytes: 2_048,
        summary_chars: 1_500,
        max_facts: 10,
        digest_chars: 400,
        ..CompactionSettings::new(BUDGET)
    }
}

async fn server(utility: &StubModel) -> TestServer {
    let mut options = Options::new(Provider::OpenAi);
    options.extra_tools = ToolRegistry::new().with(BigReport);
    options.app.history_token_budget = BUDGET;
    options.compaction = Some((utility_client(utility), settings()));
    // A chat of 200 turns sent back to back from one client outruns the request rate a person
    // sends at; what is tested here is the history, not the rate limit.
    options.limits = Some(Limits { ip_rate: 0, ip_burst: 0, session_rate: 0, session_burst: 0, ..Limits::default() });
    TestServer::start_with(chat_script(), options).await
}

/// A request's size as the stub counts it.
fn tokens(request: &RecordedRequest) -> u64 {
    let chars: usize = ["system", "messages", "tools"]
        .iter()
        .filter_map(|key| request.body.get(*key))
        .map(|value| value.to_string().chars().count())
        .sum();
    chars.div_ceil(4) as u64
}

/// The system text the chat model received (OpenAI: the system messages).
fn system_text(request: &RecordedRequest) -> String {
    request.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "system")
        .map(|m| m["content"].to_string())
        .collect()
}

#[tokio::test]
async fn a_200_turn_tool_heavy_chat_stays_within_the_context_and_remembers_turn_1() {
    let started = Instant::now();
    let utility = StubModel::start(
        Script::new()
            .rule(
                Match::LastUserContains("Tool output of".into()),
                Reply::text(r#"{"summary": "A long report on the vault contract: balances, logs, source."}"#),
            )
            // The fact reaches the summary only if the previous summary is passed on at each fold.
            .rule(
                Match::LastUserContains(FACT.into()),
                Reply::text(format!(
                    r#"{{"summary": "The user reads vault reports turn after turn. Their vault code is {FACT}.", "facts": ["vault code: {FACT}"]}}"#
                )),
            )
            .fallback(Reply::text(r#"{"summary": "The user reads vault reports turn after turn.", "facts": []}"#)),
    )
    .await
    .unwrap();
    let server = server(&utility).await;
    let chat = new_chat_id();
    for turn in 1..=200 {
        let text = match turn {
            1 => format!("turn 1: remember that my vault code is {FACT}, then read the vault report"),
            n => format!("turn {n}: read the vault report again"),
        };
        let parts = server.turn(&chat, &text).await;
        assert!(errors_of(&parts).is_empty(), "turn {turn}: {:?}", errors_of(&parts));
        assert!(text_of(&parts).contains("Here is what the report says."), "turn {turn} answers: {}", text_of(&parts));
    }

    let requests = server.stub.requests();
    assert_eq!(requests.len(), 400, "two model calls a turn, none refused or retried");
    let largest = requests.iter().map(tokens).max().unwrap();
    assert!(largest <= CONTEXT, "every request fits the context: the largest is {largest} tokens");
    // The turn-200 calls carry the fact of turn 1 in the summary, and not turn 1 itself.
    let last = requests.last().unwrap();
    assert!(system_text(last).contains(FACT), "the summary keeps turn 1's fact: {}", system_text(last));
    assert!(!last.body["messages"].to_string().contains("turn 1:"), "turn 1 itself is folded into the summary");
    assert!(last.body["messages"].to_string().contains("turn 200:"));
    // The subroutines went to the utility model, on its own server.
    let side = utility.requests();
    assert!(side.len() >= 200, "one summary per large output and the folds: {}", side.len());
    assert!(side.iter().all(|r| r.model() == Some("utility-model")));
    assert!(requests.iter().all(|r| r.model() == Some("stub-model")));
    assert!(!requests.iter().any(|r| r.body.to_string().contains("Turns to fold in")));
    // The store keeps the whole chat, and the summary beside it.
    assert_eq!(server.messages(&chat).await.len(), 400, "the stored history stays whole");
    let record = server.store.compaction(&chat).await.unwrap().expect("the chat's compaction is stored");
    assert!(record.covered > 300, "most of the chat is summarised: {}", record.covered);
    assert!(record.summary.contains(FACT));
    eprintln!("200 turns in {:?}; largest request {largest} tokens; {} utility calls", started.elapsed(), side.len());
}

/// A turn's compaction state comes with its start, one round trip to the store fewer before the
/// model is called: the compactor does not read it again, and the model is sent what was stored.
/// A state the server cannot read is left to the compactor, which reads it, says so and starts
/// afresh.
#[tokio::test]
async fn a_turn_reads_its_chats_compaction_with_its_start() {
    let utility = StubModel::start(Script::new().fallback(Reply::text(r#"{"summary": "unused"}"#))).await.unwrap();
    let server = server(&utility).await;
    let loads = || server.compaction_loads.load(std::sync::atomic::Ordering::SeqCst);
    let chat = new_chat_id();
    assert!(errors_of(&server.turn(&chat, "turn 1: read the vault report").await).is_empty());
    let first = server.messages(&chat).await;
    assert_eq!(first.len(), 2, "the question and its answer");
    let record = |state: Value| aomi_store::CompactionRecord {
        chat_id: chat.clone(),
        summary: "stored summary".into(),
        covers_through: first[1].id.clone(),
        covered: 2,
        state,
        updated_at: chrono::Utc::now(),
    };
    let summary = format!("The user's vault code is {FACT}.");
    let state = json!({ "summary": summary, "facts": [], "covered": 2, "coversThrough": first[1].id });
    server.store.put_compaction(&record(state)).await.unwrap();

    assert!(errors_of(&server.turn(&chat, "turn 2: read the vault report").await).is_empty());
    let sent = system_text(server.stub.requests().last().unwrap());
    assert!(sent.contains(&summary), "the stored summary is sent: {sent}");
    assert!(!server.stub.requests().last().unwrap().body["messages"].to_string().contains("turn 1:"));
    assert_eq!(loads(), 0, "the compactor never read the state itself");

    // A state of another shape: the compactor reads it once more, and compacts afresh.
    server.store.put_compaction(&record(json!({ "covered": "two" }))).await.unwrap();
    assert!(errors_of(&server.turn(&chat, "turn 3: read the vault report").await).is_empty());
    assert_eq!(loads(), 1);
    let sent = server.stub.requests().last().unwrap().body["messages"].to_string();
    assert!(sent.contains("turn 1:") && !sent.contains(&summary), "the history is sent whole: {sent}");
}

#[tokio::test]
async fn when_the_utility_model_fails_the_oldest_messages_are_left_out_instead() {
    let utility =
        StubModel::start(Script::new().fallback(Reply::error(500, "the utility model is down"))).await.unwrap();
    let server = server(&utility).await;
    let chat = new_chat_id();
    for turn in 1..=30 {
        let parts = server.turn(&chat, &format!("turn {turn}: read the vault report")).await;
        assert!(errors_of(&parts).is_empty(), "turn {turn}: {:?}", errors_of(&parts));
    }
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 60, "every turn answered");
    assert!(requests.iter().map(tokens).max().unwrap() <= CONTEXT);
    let last = requests.last().unwrap();
    assert!(system_text(last).contains("were left out"), "the note says so: {}", system_text(last));
    assert!(!utility.requests().is_empty(), "the utility model was tried");
}

#[tokio::test]
async fn the_batch_app_answers_a_long_chat_from_its_summary() {
    let utility = StubModel::start(
        Script::new()
            .rule(Match::LastUserContains("Tool output of".into()), Reply::text(r#"{"summary": "A vault report."}"#))
            .rule(
                Match::LastUserContains(FACT.into()),
                Reply::text(format!(
                    r#"{{"summary": "Their vault code is {FACT}.", "facts": ["vault code: {FACT}"]}}"#
                )),
            )
            .fallback(Reply::text(r#"{"summary": "The user reads vault reports.", "facts": []}"#)),
    )
    .await
    .unwrap();
    // The plan on a planner model of its own: the chat's stub answers tool calls to "turn" messages.
    let planner = StubModel::start(
        Script::new().fallback(Reply::text(r#"{"reads": [{"tool": "big_report", "arguments": {}}], "action": null}"#)),
    )
    .await
    .unwrap();
    let planner_client = crate::common::side_model_client(&planner, "planner-model");
    let mut options = Options::new(Provider::OpenAi);
    options.extra_tools = ToolRegistry::new().with(BigReport);
    options.app.history_token_budget = BUDGET;
    options.compaction = Some((utility_client(&utility), settings()));
    let app_config = options.app.clone();
    options.extra_compacted_app = Some(Box::new(move |llm, tools, compactor| {
        let config = aomi_agent::BatchAppConfig { linear: app_config, ..Default::default() };
        let app = aomi_agent::BatchApp::new(llm, tools, config)
            .with_planner(aomi_llm::SubroutineModel::Fixed(planner_client))
            .with_compaction(compactor);
        std::sync::Arc::new(app) as std::sync::Arc<dyn aomi_core::AomiApp>
    }));
    let server = TestServer::start_with(chat_script(), options).await;
    let chat = new_chat_id();
    for turn in 1..=40 {
        let text = match turn {
            1 => format!("turn 1: remember that my vault code is {FACT}, then read the vault report"),
            n => format!("turn {n}: read the vault report again"),
        };
        assert!(errors_of(&server.turn(&chat, &text).await).is_empty(), "turn {turn}");
    }
    let mut body = crate::common::user_body(&chat, "turn 41: the report once more, in a plan");
    body["app"] = json!(aomi_agent::BATCH_APP);
    let parts = crate::common::read_stream(server.post(&body).await).await;
    assert!(errors_of(&parts).is_empty(), "{:?}", errors_of(&parts));
    assert_eq!(text_of(&parts), "Here is what the report says.");
    let answer = server.stub.requests().pop().unwrap();
    assert!(tokens(&answer) <= CONTEXT);
    assert!(system_text(&answer).contains(FACT), "the batch answer sees the summary: {}", system_text(&answer));
    assert!(!answer.body["messages"].to_string().contains("turn 1:"), "turn 1 itself is folded into the summary");
    assert_eq!(planner.requests().len(), 1);
}
