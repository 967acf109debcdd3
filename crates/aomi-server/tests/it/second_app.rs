//! A second app with a loop of its own, built from aomi-agent's public step blocks and served by
//! the same backend: one model step, its tools, then an answer written from the tool results
//! with no second model call. The backend (not the app) runs its tools' per-turn hook.

use std::sync::Arc;

use aomi_agent::step::{self, Usage};
use aomi_chain::{ChainSessions, NetworkRegistry};
use aomi_core::{AomiApp, AppError, BoxFuture, FinishReason, TurnHook, TurnInput, TurnSink, UiChunk};
use aomi_llm::{LlmClient, ModelRequest, ModelTools, Provider};
use aomi_testkit::{Reply, Script};
use aomi_tools::chain::chain_tools;
use aomi_tools::{ToolRegistry, ToolScheduler};
use serde_json::json;

use crate::common::*;

/// One model step, then the tool results in the app's own words.
struct OneRound {
    llm: LlmClient,
    scheduler: ToolScheduler,
    /// The tools as the model is offered them, built once (the client encodes them once).
    tools: ModelTools,
}

impl AomiApp for OneRound {
    fn name(&self) -> &str {
        "one-round"
    }

    fn description(&self) -> &str {
        "Calls the model once and answers from the tools it asked for."
    }

    fn turn_hooks(&self) -> Vec<Arc<dyn TurnHook>> {
        self.scheduler.registry().hooks()
    }

    fn run_turn<'a>(
        &'a self,
        input: TurnInput,
        sink: &'a dyn TurnSink,
    ) -> BoxFuture<'a, Result<FinishReason, AppError>> {
        Box::pin(async move {
            let request = ModelRequest {
                system: "Use a tool.".into(),
                messages: input.history.clone(),
                tools: self.tools.clone(),
                ..ModelRequest::default()
            };
            sink.emit(UiChunk::StartStep);
            let output =
                step::model_step(&self.llm, request, sink).await.map_err(|e| AppError::Internal(e.to_string()))?;
            let round = step::run_tools(&self.scheduler, output.calls, &input, sink).await;
            sink.emit(UiChunk::FinishStep);
            let said: Vec<String> = round
                .results
                .iter()
                .map(|result| match &result.outcome {
                    Ok(out) => out.summary.clone(),
                    Err(error) => error.to_string(),
                })
                .collect();
            step::text_step(sink, format!("From the tools: {}", said.join("; ")));
            let mut usage = Usage::default();
            usage.add(output.usage);
            usage.emit(sink);
            Ok(FinishReason::Stop)
        })
    }
}

#[tokio::test]
async fn a_second_app_runs_its_own_loop_through_the_same_backend() {
    // The chain layer's real hook: no node is needed to switch a chat's network.
    let sessions = Arc::new(ChainSessions::new(NetworkRegistry::builtin(), "ethereum").unwrap());
    let script = Script::new().then(Reply::tool_call("echo", json!({ "text": "hi" }))).fallback(Reply::text("Done."));
    let mut options = Options::new(Provider::Anthropic);
    options.extra_tools = chain_tools(Arc::clone(&sessions));
    options.extra_app = Some(Box::new(|llm, tools: ToolRegistry| {
        let scheduler = ToolScheduler::new(Arc::new(tools), std::time::Duration::from_secs(5));
        let tools = ModelTools::new(scheduler.registry().specs());
        Arc::new(OneRound { llm: llm.unwrap(), scheduler, tools }) as Arc<dyn AomiApp>
    }));
    let server = TestServer::start_with(script, options).await;

    let chat_id = new_chat_id();
    let mut body = user_body(&chat_id, "echo hi");
    body["app"] = json!("one-round");
    body["wallet"]["chainId"] = json!(31337);
    let parts = read_stream(server.post(&body).await).await;

    // One model call, where the default loop makes two for the same script (below).
    assert_eq!(server.stub.requests().len(), 1, "the second app calls the model once");
    assert_eq!(
        kinds(&parts),
        [
            "start",
            "start-step",
            "tool-input-start",
            "tool-input-delta",
            "tool-input-available",
            "data-tool-progress",
            "tool-output-available",
            "finish-step",
            "start-step",
            "text-start",
            "text-delta",
            "text-end",
            "finish-step",
            "message-metadata",
            "finish",
        ],
        "{parts:?}"
    );
    assert_eq!(text_of(&parts), "From the tools: echoed \"hi\"");
    // The backend ran the chain hook for this app's turn: the chat is on the wallet's chain.
    let network = sessions.connection(&chat_id, None).unwrap().network.clone();
    assert_eq!(network.chain_id, 31337, "the hook moved the chat to the wallet's chain");
    // The answer is stored like any other.
    let stored = server.messages(&chat_id).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].text(), "From the tools: echoed \"hi\"");

    // The default app, through the same backend and script: model, tool, model again.
    server.stub.set_script(
        Script::new().then(Reply::tool_call("echo", json!({ "text": "hi" }))).fallback(Reply::text("Done.")),
    );
    let before = server.stub.requests().len();
    let other = new_chat_id();
    let parts = server.turn(&other, "echo hi").await;
    assert_eq!(server.stub.requests().len() - before, 2, "the default loop calls the model again with the result");
    assert_eq!(text_of(&parts), "Done.");
}
