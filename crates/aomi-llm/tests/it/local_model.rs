//! The client against a real small model: llama-cpp-python's server with SmolLM2-135M-Instruct
//! (`tools/local-model.sh install`; skipped when it is not installed, unless
//! `AOMI_REQUIRE_LOCAL_MODEL=1`). What the model says is not asserted, only what any answer must
//! be: streamed, finished, and of the asked shape.

use std::time::Duration;

use aomi_core::{ChatMessage, ToolSpec};
use aomi_llm::schemars::JsonSchema;
use aomi_llm::{LlmClient, ModelConfig, ModelEvent, ModelRequest, Provider, StructuredOutput, ToolChoice};
use aomi_testkit::local_model::MODEL_ALIAS;
use aomi_testkit::{LocalModel, RecordingProxy};
use serde::Deserialize;
use serde_json::json;

use crate::{run, text_of};

/// The shared local model, or `None` (skip) when it is not installed and not required.
async fn local_model() -> Option<&'static LocalModel> {
    tokio::task::spawn_blocking(LocalModel::shared).await.unwrap()
}

fn client(base_url: String, structured: StructuredOutput) -> LlmClient {
    let mut config = ModelConfig::new(Provider::OpenAi, MODEL_ALIAS);
    config.base_url = Some(base_url);
    config.structured_output = structured;
    config.max_tokens = 200;
    // The server answers one request at a time: another test's call may be ahead in its queue.
    config.idle_timeout = Duration::from_secs(180);
    LlmClient::new(config).unwrap()
}

#[tokio::test]
async fn the_real_model_streams_text_and_finishes() {
    let Some(model) = local_model().await else { return };
    let request = ModelRequest::new(
        "You are a friendly assistant.",
        vec![ChatMessage::user_text("u1", "Say hello to me in one short sentence.")],
    );
    let (events, error) = run(&client(model.openai_base_url(), StructuredOutput::None), request).await;
    assert_eq!(error, None, "{events:?}");
    let deltas = events.iter().filter(|event| matches!(event, ModelEvent::TextDelta(_))).count();
    assert!(deltas > 1, "the text arrives in several pieces: {events:?}");
    assert!(!text_of(&events).trim().is_empty(), "{events:?}");
    assert!(matches!(events.last(), Some(ModelEvent::Done { .. })), "{events:?}");
}

/// A small typed record, as the extraction subroutines of the utility model ask for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "aomi_llm::schemars")]
struct Transfer {
    /// How much, as a number.
    amount: f64,
    /// The token's symbol.
    token: String,
    /// Who receives it.
    recipient: String,
}

/// With constrained decoding (`json_object` + schema, llama-cpp-python's form) the answer parses
/// as the record, whatever the model makes of the sentence; the request carried the schema.
#[tokio::test]
async fn the_real_model_answers_a_typed_record_under_its_schema() {
    let Some(model) = local_model().await else { return };
    let proxy = RecordingProxy::start(model.url()).await.unwrap();
    let client = client(proxy.openai_base_url(), StructuredOutput::JsonObject);
    let transfer: Result<Transfer, _> =
        client.run_subroutine("Extract the transfer the user asks for.", "Send 25 USDC to alice.eth please.").await;
    let Transfer { amount, token, recipient } = transfer.unwrap();
    eprintln!("the local model extracted: {amount} {token} to {recipient}");
    assert!(amount.is_finite());
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "one call was enough: the answer matched the schema at once");
    let format = &requests[0].body["response_format"];
    assert_eq!(format["type"], "json_object", "{format}");
    let mut required: Vec<&str> =
        format["schema"]["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
    required.sort_unstable();
    assert_eq!(required, ["amount", "recipient", "token"], "{format}");
    assert_eq!(requests[0].body["messages"][0]["content"].as_str().map(|s| s.contains("JSON schema")), Some(true));
}

/// A forced tool call streams as a tool call: its start, its arguments, the whole call, `Done`.
#[tokio::test]
async fn a_forced_tool_call_streams_from_the_real_model() {
    let Some(model) = local_model().await else { return };
    let tools = vec![
        ToolSpec {
            name: "get_current_time".into(),
            description: "The current date and time.".into(),
            parameters: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: "get_balance".into(),
            description: "The balance of an address.".into(),
            parameters: json!({"type": "object", "properties": {"address": {"type": "string"}}, "required": ["address"]}),
        },
    ];
    let mut request =
        ModelRequest::new("You are a helpful assistant.", vec![ChatMessage::user_text("u1", "What time is it?")])
            .with_tools(tools);
    request.tool_choice = ToolChoice::Tool("get_current_time".into());
    let proxy = RecordingProxy::start(model.url()).await.unwrap();
    let (events, error) = run(&client(proxy.openai_base_url(), StructuredOutput::None), request).await;
    assert_eq!(error, None, "{events:?}");
    let started: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|event| match event {
            ModelEvent::ToolCallStart { id, name } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let calls: Vec<(&str, &str, bool)> = events
        .iter()
        .filter_map(|event| match event {
            ModelEvent::ToolCall { id, name, arguments } => Some((id.as_str(), name.as_str(), arguments.is_object())),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 1, "one start, though the server repeats the name in every chunk: {events:?}");
    assert_eq!(calls.len(), 1, "{events:?}");
    assert_eq!((calls[0].0, calls[0].1), started[0]);
    assert_eq!(calls[0].1, "get_current_time");
    assert!(calls[0].2, "the arguments are a JSON object: {events:?}");
    assert!(matches!(events.last(), Some(ModelEvent::Done { .. })), "{events:?}");
}
