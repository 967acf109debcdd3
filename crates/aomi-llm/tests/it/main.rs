//! Integration tests of aomi-llm: the real rig clients against the stub model
//! server of aomi-testkit, over real HTTP and SSE, for both providers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod compaction;
mod compat;
mod config;
mod failures;
mod fuzz;
mod local_model;
mod streaming;
mod subroutine;
mod wire;

use std::time::Duration;

use aomi_llm::{LlmClient, LlmError, ModelConfig, ModelEvent, ModelRequest, Provider};
use aomi_testkit::{Script, StubModel};
use futures::StreamExt;

/// Runs `$test(provider)` once per provider, as `$test::anthropic` and
/// `$test::openai`.
macro_rules! both_providers {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn anthropic() {
                super::$test(aomi_llm::Provider::Anthropic).await;
            }

            #[tokio::test]
            async fn openai() {
                super::$test(aomi_llm::Provider::OpenAi).await;
            }
        }
    )*};
}
pub(crate) use both_providers;

/// A stub server playing `script`.
pub async fn stub(script: Script) -> StubModel {
    match StubModel::start(script).await {
        Ok(stub) => stub,
        Err(error) => panic!("the stub model did not start: {error}"),
    }
}

/// A client of `provider` pointed at `stub`: Anthropic with a key, OpenAI
/// without one (as for a local server).
pub fn client_with(stub: &StubModel, provider: Provider, edit: impl FnOnce(&mut ModelConfig)) -> LlmClient {
    let mut config = ModelConfig::new(provider, "stub-model");
    match provider {
        Provider::Anthropic => {
            config.api_key = Some("test-anthropic-key".into());
            config.base_url = Some(stub.anthropic_base_url());
        }
        Provider::OpenAi => config.base_url = Some(stub.openai_base_url()),
    }
    config.idle_timeout = Duration::from_secs(20);
    edit(&mut config);
    match LlmClient::new(config) {
        Ok(client) => client,
        Err(error) => panic!("no client: {error}"),
    }
}

/// [`client_with`] with the defaults.
pub fn client(stub: &StubModel, provider: Provider) -> LlmClient {
    client_with(stub, provider, |_| {})
}

/// The events of one call, and the error it ended with (from `stream` itself
/// or from the stream).
pub async fn run(client: &LlmClient, request: ModelRequest) -> (Vec<ModelEvent>, Option<LlmError>) {
    let mut stream = match client.stream(request).await {
        Ok(stream) => stream,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => events.push(event),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, None)
}

/// A request with one user message and no tools.
pub fn ask(text: &str) -> ModelRequest {
    ModelRequest::new("You are a test.", vec![aomi_core::ChatMessage::user_text("u1", text)])
}

/// The text deltas of `events`, joined.
pub fn text_of(events: &[ModelEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            ModelEvent::TextDelta(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
