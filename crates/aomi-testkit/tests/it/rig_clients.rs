//! rig-core's own Anthropic and OpenAI chat-completions clients against the
//! stub: they parse what it sends without complaint.

use aomi_testkit::{Match, Reply, Script, ScriptedCall, StubModel};
use futures::StreamExt;
use rig::completion::{CompletionRequest, CompletionResponse, ToolDefinition};
use rig::message::{Message, ToolName};
use rig::providers::anthropic::AnthropicConfig;
use rig::providers::openai::OpenAIConfig;
use rig::streaming::{Item, StreamEvent};
use serde_json::{Value, json};

/// The model under test: Anthropic or OpenAI chat completions.
#[derive(Clone, Copy, Debug)]
enum Provider {
    Anthropic,
    OpenAiChat,
}

const BOTH: [Provider; 2] = [Provider::Anthropic, Provider::OpenAiChat];

fn tools() -> Vec<ToolDefinition> {
    ["get_balance", "get_price"]
        .into_iter()
        .map(|name| {
            ToolDefinition::new(
                ToolName::new(name).unwrap(),
                format!("{name} tool"),
                json!({"type": "object", "properties": {}}),
            )
        })
        .collect()
}

fn request(prompt: Message, history: Vec<Message>) -> CompletionRequest {
    CompletionRequest::new(prompt).messages(history).preamble("You are a test.").max_tokens(256).tools(tools())
}

/// The reply, what streamed as text, and how many payloads rig did not model.
async fn ask(
    stub: &StubModel,
    provider: Provider,
    request: CompletionRequest,
    stream: bool,
) -> Result<(CompletionResponse, String, usize), rig::error::ProviderError> {
    macro_rules! run {
        ($model:expr) => {{
            let model = $model;
            if stream {
                let mut streamed = model.stream(request)?;
                let (mut text, mut unknown) = (String::new(), 0);
                while let Some(item) = streamed.next().await {
                    match item? {
                        Item::Event(StreamEvent::Text { text: piece, .. }) => text.push_str(&piece),
                        Item::Event(_) => {}
                        Item::Unknown(_) => unknown += 1,
                    }
                }
                Ok((streamed.finish().await?, text, unknown))
            } else {
                Ok((model.call(request).await?, String::new(), 0))
            }
        }};
    }
    match provider {
        Provider::Anthropic => {
            run!(
                AnthropicConfig::new("test-key")
                    .with_base_url(stub.anthropic_base_url())
                    .client()
                    .completion("claude-stub")
            )
        }
        Provider::OpenAiChat => {
            run!(OpenAIConfig::new("test-key").with_base_url(stub.openai_base_url()).client().chat("gpt-stub"))
        }
    }
}

#[tokio::test]
async fn text_streams_and_whole_replies_parse() {
    const TEXT: &str = "Hello from the stub model, streamed in small pieces.";
    let stub = StubModel::start(Script::new().fallback(Reply::text(TEXT))).await.unwrap();
    for provider in BOTH {
        for stream in [true, false] {
            let (response, streamed, unknown) =
                ask(&stub, provider, request(Message::user("hi"), vec![]), stream).await.unwrap();
            assert_eq!(response.text(), TEXT, "{provider:?} stream={stream}");
            if stream {
                assert_eq!(streamed, TEXT, "{provider:?}");
            }
            assert_eq!(unknown, 0, "{provider:?}: every payload is modelled");
            assert_eq!(response.finish_reason(), Some(rig::completion::FinishReason::Stop), "{provider:?}");
            assert!(response.usage.input_tokens.unwrap_or(0) > 0, "{provider:?} {:?}", response.usage);
            assert!(response.usage.output_tokens.unwrap_or(0) > 0, "{provider:?} {:?}", response.usage);
            assert!(response.tool_calls().next().is_none());
        }
    }
    let paths = stub.requests().into_iter().map(|request| request.path).collect::<Vec<_>>();
    assert_eq!(paths, ["/v1/messages", "/v1/messages", "/v1/chat/completions", "/v1/chat/completions"]);
}

#[tokio::test]
async fn tool_calls_parse_and_results_come_back() {
    let balance = json!({"address": "0x00000000000000000000000000000000000000aa", "chain_id": 1});
    let price = json!({"symbol": "ETH", "nested": {"list": [1, 2.5, "x"], "flag": true}});
    let script = Script::new()
        .rule(
            Match::LastUserContains("portfolio".into()),
            Reply::ToolCalls {
                text: Some("Let me look.".into()),
                calls: vec![
                    ScriptedCall::new("get_balance", balance.clone()),
                    ScriptedCall::new("get_price", price.clone()),
                ],
            },
        )
        .rule(Match::LastToolResultContains("3000 USD".into()), Reply::text("Worth 3000 USD."));
    let stub = StubModel::start(script).await.unwrap();
    for provider in BOTH {
        for stream in [true, false] {
            let user = Message::user("value my portfolio");
            let (response, _, unknown) = ask(&stub, provider, request(user.clone(), vec![]), stream).await.unwrap();
            assert_eq!(unknown, 0);
            assert_eq!(response.text(), "Let me look.", "{provider:?} stream={stream}");
            assert_eq!(response.finish_reason(), Some(rig::completion::FinishReason::ToolCalls));
            let calls = response.tool_calls().cloned().collect::<Vec<_>>();
            assert_eq!(calls.len(), 2, "{provider:?} stream={stream}: {calls:?}");
            for (call, (name, arguments)) in calls.iter().zip([("get_balance", &balance), ("get_price", &price)]) {
                assert_eq!(&*call.function.name, name);
                assert_eq!(&Value::Object(call.function.arguments.clone()), arguments);
                let prefix = match provider {
                    Provider::Anthropic => "toolu_",
                    Provider::OpenAiChat => "call_",
                };
                assert!(call.id.wire().starts_with(prefix), "{}", call.id.wire());
            }
            // Send the results back the way an agent loop does.
            let assistant = response.message().expect("an assistant turn");
            let results = Message::tool_results(vec![
                calls[0].result(vec![rig::message::ToolResultContent::text("1 ETH")]),
                calls[1].result(vec![rig::message::ToolResultContent::text("3000 USD")]),
            ]);
            let (answer, _, _) = ask(&stub, provider, request(results, vec![user, assistant]), stream).await.unwrap();
            assert_eq!(answer.text(), "Worth 3000 USD.", "{provider:?} stream={stream}");
            let recorded = stub.requests().pop().unwrap();
            assert_eq!(recorded.last_user_text.as_deref(), Some("value my portfolio"));
            assert_eq!(recorded.last_tool_result.as_deref(), Some("1 ETH\n3000 USD"), "{provider:?}");
        }
    }
}

#[tokio::test]
async fn errors_reach_rig_as_provider_errors() {
    for provider in BOTH {
        for stream in [true, false] {
            let stub = StubModel::start(Script::new().then(Reply::error(429, "slow down")).then(Reply::Malformed))
                .await
                .unwrap();
            let error = ask(&stub, provider, request(Message::user("hi"), vec![]), stream).await.unwrap_err();
            assert_eq!(error.provider_response_status().map(|status| status.as_u16()), Some(429), "{provider:?}");
            assert!(error.provider_response_body().unwrap_or_default().contains("slow down"));
            assert!(error.provider_response_headers().and_then(|headers| headers.get("retry-after")).is_some());
            assert!(error.is_retryable());
            let malformed = ask(&stub, provider, request(Message::user("hi"), vec![]), stream).await;
            assert!(malformed.is_err(), "{provider:?} stream={stream}: {malformed:?}");
        }
    }
}

#[tokio::test]
async fn openai_default_route_is_the_responses_api() {
    // rig's `completion()` on the official OpenAI dialect uses the
    // Responses API, which the stub refuses; `chat()` is the way in.
    let stub = StubModel::start(Script::new().fallback(Reply::text("unused"))).await.unwrap();
    let model = OpenAIConfig::new("test-key").with_base_url(stub.openai_base_url()).client().completion("gpt-stub");
    let error = model.call(CompletionRequest::new("hi")).await.unwrap_err();
    assert_eq!(error.provider_response_status().map(|status| status.as_u16()), Some(404));
    assert!(stub.requests().is_empty());
}
