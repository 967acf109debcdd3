//! The explore app (tree search): branches run at the same time within a budget, a judge picks
//! one, and the answer is built from that branch's results only.

use std::sync::Arc;
use std::time::Duration;

use aomi_agent::{EXPLORE_APP, ExploreApp, ExploreAppConfig};
use aomi_core::{AomiApp, BoxFuture, FinishReason, Tool, ToolContext, ToolError, ToolOutput, ToolSpec, UiChunk};
use aomi_llm::Provider;
use aomi_testkit::{Reply, Script};
use aomi_tools::ToolRegistry;
use serde_json::{Value, json};

use crate::common::*;

/// A read that ends only once two calls of it run at the same time: branches run one after the
/// other fail it, so it proves they run at once.
struct BarrierRead {
    barrier: Arc<tokio::sync::Barrier>,
}

impl Tool for BarrierRead {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "barrier_read".into(),
            description: "A read that waits for the first read of another branch.".into(),
            parameters: json!({ "type": "object", "properties": { "key": { "type": "string" } } }),
        }
    }

    fn call<'a>(&'a self, args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let key = args["key"].as_str().unwrap_or_default().to_owned();
            match tokio::time::timeout(Duration::from_secs(3), self.barrier.wait()).await {
                Ok(_) => Ok(ToolOutput::new(json!({ "key": key }), format!("{key} is ready"))),
                Err(_) => Err(ToolError::Failed("the other branch did not run at the same time".into())),
            }
        })
    }
}

/// A pool's quote: a figure of its own per pool, so a request shows whose results it holds.
struct PoolQuote;

fn quote_of(pool: &str) -> String {
    match pool {
        "alpha" => "QUOTE_ALPHA_2500_USDC".into(),
        "beta" => "QUOTE_BETA_2400_USDC".into(),
        other => format!("QUOTE_{}_1_USDC", other.to_uppercase()),
    }
}

impl Tool for PoolQuote {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "pool_quote".into(),
            description: "How much USDC a pool gives for 1 ETH.".into(),
            parameters: json!({ "type": "object", "properties": { "pool": { "type": "string" } } }),
        }
    }

    fn call<'a>(&'a self, args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let quote = quote_of(args["pool"].as_str().unwrap_or_default());
            Ok(ToolOutput::new(json!({ "quote": quote }), quote.clone()))
        })
    }
}

/// A read that never ends: only the explore time budget stops it.
struct StallRead;

impl Tool for StallRead {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "stall_read".into(),
            description: "A read that never ends.".into(),
            parameters: json!({ "type": "object" }),
        }
    }

    fn call<'a>(&'a self, _args: Value, _ctx: ToolContext) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(std::future::pending())
    }

    fn timeout(&self) -> Option<Duration> {
        Some(Duration::from_secs(600))
    }
}

fn explore_options(config: ExploreAppConfig) -> Options {
    let mut options = Options::new(Provider::Anthropic);
    options.extra_tools = ToolRegistry::new()
        .with(BarrierRead { barrier: Arc::new(tokio::sync::Barrier::new(2)) })
        .with(PoolQuote)
        .with(StallRead);
    options.extra_app = Some(Box::new(move |llm, tools: ToolRegistry| {
        Arc::new(ExploreApp::new(llm, tools, config)) as Arc<dyn AomiApp>
    }));
    options
}

fn explore_body(chat: &str, text: &str) -> Value {
    let mut body = user_body(chat, text);
    body["app"] = json!(EXPLORE_APP);
    body
}

/// The `data-tree` parts of a turn, in order.
fn trees(parts: &[UiChunk]) -> Vec<&Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Data { name, data, .. } if name == "tree" => Some(data),
            _ => None,
        })
        .collect()
}

fn branch_states(tree: &Value) -> Vec<&str> {
    tree["branches"].as_array().unwrap().iter().map(|b| b["state"].as_str().unwrap()).collect()
}

fn call_ids(tree: &Value, branch: usize) -> Vec<&str> {
    tree["branches"][branch]["calls"].as_array().unwrap().iter().map(|c| c["toolCallId"].as_str().unwrap()).collect()
}

const QUESTION: &str = "which of these two pools gives the most USDC for 1 ETH?";
const ANSWER: &str = "The first pool gives the most: 2500 USDC for 1 ETH.";

const TWO_BRANCHES: &str = r#"{"branches": [
  {"label": "the first pool", "calls": [{"tool": "barrier_read", "arguments": {"key": "alpha"}}, {"tool": "pool_quote", "arguments": {"pool": "alpha"}}]},
  {"label": "the second pool", "calls": [{"tool": "barrier_read", "arguments": {"key": "beta"}}, {"tool": "pool_quote", "arguments": {"pool": "beta"}}]}
]}"#;
const JUDGEMENT: &str =
    r#"{"best": 0, "scores": [{"branch": 0, "score": 9}, {"branch": 1, "score": 7}], "reason": "it gives more USDC"}"#;

#[tokio::test]
async fn explore_runs_its_branches_at_once_the_judge_picks_one_and_the_answer_sees_only_its_results() {
    let script = Script::new().then(Reply::text(TWO_BRANCHES)).then(Reply::text(JUDGEMENT)).then(Reply::text(ANSWER));
    let server = TestServer::start_with(script, explore_options(ExploreAppConfig::default())).await;
    let chat = new_chat_id();
    let parts = read_stream(server.post(&explore_body(&chat, QUESTION)).await).await;

    assert_eq!(tool_errors_of(&parts), Vec::<String>::new(), "both branches met at the barrier: they ran at once");
    assert_eq!(text_of(&parts), ANSWER);
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    let trees = trees(&parts);
    assert_eq!(branch_states(trees[0]), ["running", "running"], "the tree streams before its branches end");
    let last = *trees.last().unwrap();
    assert_eq!(branch_states(last), ["done", "pruned"], "{last}");
    assert_eq!(last["chosen"], 0);
    assert_eq!(last["reason"], "it gives more USDC");
    assert_eq!((last["branches"][0]["score"].as_u64(), last["branches"][1]["score"].as_u64()), (Some(9), Some(7)));
    assert_eq!(last["branches"][1]["note"], "scored below branch 0");
    assert_eq!(last["branches"][0]["calls"][1]["summary"], "QUOTE_ALPHA_2500_USDC");

    // Three model calls: the plan, the judge (which sees both branches), the answer (only the best).
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 3);
    let planner = requests[0].body.to_string();
    assert!(planner.contains("branches") && planner.contains("pool_quote"), "the schema and tools: {planner}");
    assert!(!planner.contains("send_transaction"), "no wallet tool is offered: {planner}");
    let judge = requests[1].body.to_string();
    assert!(judge.contains("QUOTE_ALPHA_2500_USDC") && judge.contains("QUOTE_BETA_2400_USDC"), "{judge}");
    let answer = requests[2].body.to_string();
    assert!(answer.contains("QUOTE_ALPHA_2500_USDC"), "the answer sees the best branch: {answer}");
    assert!(!answer.contains("QUOTE_BETA"), "and nothing of the pruned one: {answer}");
    for id in call_ids(last, 1) {
        assert!(!answer.contains(id), "the pruned branch's call {id} is not in the answer's request");
    }
    for id in call_ids(last, 0) {
        assert!(answer.contains(id), "the best branch's call {id} is in the answer's request");
    }
    assert_eq!(requests[2].body["tool_choice"]["type"], "none", "{}", requests[2].body["tool_choice"]);

    // The stored message keeps the tree's last state and every branch's tool card.
    let stored = serde_json::to_value(&server.messages(&chat).await[1]).unwrap();
    let stored_parts = stored["parts"].as_array().unwrap();
    let tree = stored_parts.iter().find(|p| p["type"] == "data-tree").unwrap();
    assert_eq!(branch_states(&tree["data"]), ["done", "pruned"]);
    assert_eq!(stored_parts.iter().filter(|p| p["toolCallId"].is_string()).count(), 4);

    // The apps list names it.
    let apps: Value = server.get("/api/apps").await.json().await.unwrap();
    let explore = apps["apps"].as_array().unwrap().iter().find(|a| a["name"] == EXPLORE_APP).unwrap();
    assert!(explore["description"].as_str().unwrap().contains("Tree search"), "{explore}");
}

#[tokio::test]
async fn explore_prunes_branches_over_its_budget_of_branches_steps_and_time() {
    let plan = r#"{"branches": [
      {"label": "quick", "calls": [{"tool": "pool_quote", "arguments": {"pool": "alpha"}}]},
      {"label": "long", "calls": [{"tool": "pool_quote", "arguments": {"pool": "b1"}}, {"tool": "pool_quote", "arguments": {"pool": "b2"}}, {"tool": "pool_quote", "arguments": {"pool": "b3"}}]},
      {"label": "slow", "calls": [{"tool": "stall_read", "arguments": {}}, {"tool": "pool_quote", "arguments": {"pool": "c"}}]},
      {"label": "one too many", "calls": [{"tool": "pool_quote", "arguments": {"pool": "d"}}]}
    ]}"#;
    // One branch reaches a result: no judge is needed.
    let script = Script::new().then(Reply::text(plan)).then(Reply::text(ANSWER));
    let config =
        ExploreAppConfig { max_branches: 3, max_steps: 2, timeout: Duration::from_secs(2), ..Default::default() };
    let server = TestServer::start_with(script, explore_options(config)).await;
    let parts = read_stream(server.post(&explore_body(&new_chat_id(), QUESTION)).await).await;

    assert_eq!(text_of(&parts), ANSWER);
    let trees = trees(&parts);
    assert_eq!(branch_states(trees[0]), ["running", "pruned", "running", "pruned"], "pruned before running");
    let last = *trees.last().unwrap();
    assert_eq!(branch_states(last), ["done", "pruned", "pruned", "pruned"], "{last}");
    assert_eq!(last["chosen"], 0);
    let note = |branch: usize| last["branches"][branch]["note"].as_str().unwrap().to_owned();
    assert!(note(1).contains("step budget: 3 calls, at most 2"), "{}", note(1));
    assert!(note(2).contains("timed out"), "{}", note(2));
    assert!(note(3).contains("budget of 3 branches"), "{}", note(3));
    let call_states = |branch: usize| -> Vec<String> {
        last["branches"][branch]["calls"].as_array().unwrap().iter().map(|c| c["state"].to_string()).collect()
    };
    assert_eq!(call_states(1), ["\"skipped\"", "\"skipped\"", "\"skipped\""]);
    assert_eq!(call_states(2), ["\"failed\"", "\"skipped\""], "the stalled call is cut, the next never runs");

    // Only the admitted branches' calls got cards; the cut one is closed with the reason.
    let started: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::ToolInputStart { tool_name, .. } => Some(tool_name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started.contains(&"pool_quote") && started.contains(&"stall_read"), "{started:?}");
    let errors = tool_errors_of(&parts);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("timed out"), "{errors:?}");

    let requests = server.stub.requests();
    assert_eq!(requests.len(), 2, "the plan and the answer");
    let answer = requests[1].body.to_string();
    assert!(answer.contains("QUOTE_ALPHA_2500_USDC"), "{answer}");
    // (The tools' specs go with every request: the cut branch is looked for by its call's id.)
    let stalled = call_ids(last, 2)[0];
    assert!(!answer.contains(stalled), "the cut branch is not in the answer's request: {answer}");
}

#[tokio::test]
async fn an_invalid_judgement_is_repaired_once_then_its_failure_is_the_answer() {
    let plan = r#"{"branches": [
      {"label": "the first pool", "calls": [{"tool": "pool_quote", "arguments": {"pool": "alpha"}}]},
      {"label": "the second pool", "calls": [{"tool": "pool_quote", "arguments": {"pool": "beta"}}]}
    ]}"#;
    let bad = r#"{"best": 5, "scores": [{"branch": 0, "score": 9}, {"branch": 1, "score": 7}], "reason": "?"}"#;
    let second_best = r#"{"best": 1, "scores": [{"branch": 0, "score": 3}, {"branch": 1, "score": 8}], "reason": "r"}"#;
    // Repaired: the second verdict is good, and picks the second branch.
    let script = Script::new()
        .then(Reply::text(plan))
        .then(Reply::text(bad))
        .then(Reply::text(second_best))
        .then(Reply::text(ANSWER));
    let server = TestServer::start_with(script, explore_options(ExploreAppConfig::default())).await;
    let parts = read_stream(server.post(&explore_body(&new_chat_id(), QUESTION)).await).await;
    assert_eq!(text_of(&parts), ANSWER);
    assert_eq!(trees(&parts).last().unwrap()["chosen"], 1);
    let requests = server.stub.requests();
    assert_eq!(requests.len(), 4);
    let repair = requests[2].body.to_string();
    assert!(repair.contains("best is 5, which is not one of the candidate branches"), "the repair says why: {repair}");
    let answer = requests[3].body.to_string();
    assert!(answer.contains("QUOTE_BETA_2400_USDC") && !answer.contains("QUOTE_ALPHA"), "{answer}");

    // Invalid twice: the typed failure is the answer, and no branch is chosen.
    server.stub.set_script(Script::new().then(Reply::text(plan)).then(Reply::text(bad)).then(Reply::text("no json")));
    let parts = read_stream(server.post(&explore_body(&new_chat_id(), QUESTION)).await).await;
    let text = text_of(&parts);
    assert!(text.starts_with("I explored 2 branches but could not judge which answers best"), "{text}");
    assert!(text.contains("not a valid Judgement"), "{text}");
    let last = *trees(&parts).last().unwrap();
    assert!(last.get("chosen").is_none(), "{last}");
    assert_eq!(branch_states(last), ["done", "done"]);
    assert_eq!(finish_reason(&parts), Some(FinishReason::Stop));
    assert_eq!(server.stub.requests().len(), 4 + 3, "the plan and two verdicts; no answer call");
}
