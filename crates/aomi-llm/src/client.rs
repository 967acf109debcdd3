//! [`LlmClient`]: one configured model, called one model call at a time.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aomi_core::ChatMessage;
use futures::StreamExt;
use rig::completion::{CompletionRequest, ToolDefinition};
use rig::driver::Model;
use rig::http_client::{DynHttpClient, ReqwestClient};
use rig::message::ToolName;
use rig::providers::anthropic::{AnthropicConfig, Messages};
use rig::providers::openai::OpenAIConfig;
use rig::providers::openai::wire::{Auth, Chat};
use serde_json::{Value, json};

use crate::config::{ModelConfig, Provider, StructuredOutput};
use crate::error::{LlmError, from_rig};
use crate::history;
use crate::stream::{CallLog, Reply, Tap};
use crate::tools::{ModelTools, ToolsField};

/// The longest wait between two attempts, whatever `retry-after` asks for.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// The wait before the first retry when the provider names none; it doubles
/// with each further retry.
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(250);

/// How long connecting to the provider may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A stream of one model call's events. An error ends it.
pub type ModelStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<ModelEvent, LlmError>> + Send>>;

/// How the model must use the tools of a request (the OpenAI `tool_choice`, Anthropic's
/// `tool_choice`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides (nothing is sent: the providers' default).
    #[default]
    Auto,
    /// The model must answer in text.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// What one model call is asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelRequest {
    /// The system prompt (may be empty).
    pub system: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<ChatMessage>,
    /// The tools the model may call: build the set once and offer it to every call, so that each
    /// client encodes it once ([`ModelTools`]).
    pub tools: ModelTools,
    /// The JSON schema the answer must match, for a model whose configuration says the server
    /// constrains its output to one ([`StructuredOutput`](crate::StructuredOutput)); ignored
    /// otherwise (the caller then says it in the prompt).
    pub response_schema: Option<Value>,
    /// How the model must use the tools.
    pub tool_choice: ToolChoice,
}

impl ModelRequest {
    /// A request with a system prompt and a conversation, and no tools.
    pub fn new(system: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        ModelRequest { system: system.into(), messages, ..ModelRequest::default() }
    }

    /// The same request asking for an answer matching the JSON `schema`.
    #[must_use]
    pub fn with_response_schema(mut self, schema: Value) -> Self {
        self.response_schema = Some(schema);
        self
    }

    /// The same request offering `tools`.
    #[must_use]
    pub fn with_tools(mut self, tools: impl Into<ModelTools>) -> Self {
        self.tools = tools.into();
        self
    }
}

/// One event of a streamed model call.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of the answer's text.
    TextDelta(String),
    /// A piece of the model's visible reasoning.
    ReasoningDelta(String),
    /// The model started a tool call: sent as soon as the provider names the
    /// tool, before the arguments.
    ToolCallStart {
        /// The call's id, the same in every event of the call.
        id: String,
        /// The tool.
        name: String,
    },
    /// A piece of a tool call's argument JSON, as the provider streams it; the
    /// pieces joined are the JSON text of the arguments.
    ToolCallDelta {
        /// The call's id.
        id: String,
        /// The piece of JSON text.
        delta: String,
    },
    /// A complete tool call. `arguments` is the JSON object the model wrote; if
    /// the model wrote something that is not a JSON object, it is that text as
    /// a JSON string, for the tool's validation to reject.
    ToolCall {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// The arguments.
        arguments: Value,
    },
    /// The call finished; token counts as the provider reported them.
    Done {
        /// Tokens of the prompt (cache reads and writes included).
        input_tokens: Option<u64>,
        /// Tokens of the answer.
        output_tokens: Option<u64>,
    },
}

/// The wire of the configured provider.
// One lives per client, behind an `Arc`: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Backend {
    Anthropic(Messages),
    OpenAi(Chat),
}

struct Inner {
    /// Which client this is, to the tool sets that keep its encoding ([`ModelTools`]).
    id: u64,
    config: ModelConfig,
    backend: Backend,
    http: DynHttpClient,
}

/// A client of one configured model. Cheap to clone; clones share one
/// connection pool.
#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl LlmClient {
    /// A client for `config`. Fails when the configuration cannot work (an
    /// Anthropic model without a key, a malformed base URL, …); sends nothing.
    pub fn new(config: ModelConfig) -> Result<LlmClient, LlmError> {
        config.validate()?;
        let client = rig::rig_reqwest::reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| LlmError::Config(format!("cannot build the HTTP client: {error}")))?;
        let http = DynHttpClient::new(ReqwestClient::from(client));
        let key = config.api_key.clone().unwrap_or_default();
        let backend = match config.provider {
            Provider::Anthropic => {
                let mut provider = AnthropicConfig::new(key);
                if let Some(url) = &config.base_url {
                    provider = provider.with_base_url(url);
                }
                Backend::Anthropic(provider.connect(http.clone()).completion(config.model.clone()).wire)
            }
            Provider::OpenAi => {
                let mut provider = OpenAIConfig::new(key.clone());
                if key.is_empty() {
                    provider = provider.with_auth(Auth::OptionalBearer);
                }
                if let Some(url) = &config.base_url {
                    provider = provider.with_base_url(url.trim_end_matches('/'));
                }
                // Compatible servers (llama.cpp, some vLLM and Ollama versions) may end a stream
                // with `[DONE]` and no finish reason: that is a finished answer, not a cut one.
                provider.dialect.quirks.done_without_finish_reason = true;
                Backend::OpenAi(provider.chat(config.model.clone()))
            }
        };
        // Ids are never reused, so a tool set never sends one client's encoding through another.
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Ok(LlmClient { inner: Arc::new(Inner { id, config, backend, http }) })
    }

    /// The model as a spec: `anthropic:claude-sonnet-4-5`.
    pub fn describe(&self) -> String {
        self.inner.config.spec()
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.inner.config
    }

    /// Sends one model call and streams its events.
    ///
    /// Returns once the first event arrived. A failure before that is this
    /// function's error: a 429 or 5xx answer is first retried up to
    /// `max_retries` times (waiting as `retry-after` asks, at most 5 s). A
    /// failure after the first event ends the stream with that error, and is
    /// not retried. No event for `idle_timeout` is [`LlmError::Timeout`]. The
    /// stream ends after [`ModelEvent::Done`].
    pub async fn stream(&self, request: ModelRequest) -> Result<ModelStream, LlmError> {
        let (request, tools) = self.completion_request(request)?;
        let mut attempt: u32 = 0;
        loop {
            let mut reply = self.open(request.clone(), tools.clone())?;
            match reply.next_event().await {
                Some(Ok(first)) => {
                    reply.push_front(first);
                    return Ok(reply.into_stream());
                }
                Some(Err(error)) if error.is_retryable() && attempt < self.inner.config.max_retries => {
                    let wait = retry_wait(attempt, reply.retry_after);
                    attempt += 1;
                    tracing::warn!(model = %self.describe(), %error, attempt, ?wait, "retrying the model call");
                    tokio::time::sleep(wait).await;
                }
                Some(Err(error)) => return Err(error),
                None => return Ok(Box::pin(futures::stream::empty())),
            }
        }
    }

    /// One model call whose text answer is returned whole (for titles and
    /// typed subroutines). Streams underneath, so retries and the idle timeout
    /// apply; tool calls the model makes are ignored.
    pub async fn complete(&self, request: ModelRequest) -> Result<String, LlmError> {
        let mut stream = self.stream(request).await?;
        let mut text = String::new();
        while let Some(event) = stream.next().await {
            if let ModelEvent::TextDelta(delta) = event? {
                text.push_str(&delta);
            }
        }
        Ok(text)
    }

    /// Opens one attempt of `request`, whose tool definitions the transport handles as `tools` says.
    fn open(&self, request: CompletionRequest, tools: ToolsField) -> Result<Reply, LlmError> {
        let inner = &self.inner;
        let log = Arc::new(Mutex::new(CallLog::default()));
        let tap = Tap {
            http: inner.http.clone(),
            provider: inner.config.provider,
            structured: inner.config.structured_output,
            tools,
            log: Arc::clone(&log),
        };
        let stream = match &inner.backend {
            Backend::Anthropic(wire) => Model::new(wire.clone(), tap).stream(request),
            Backend::OpenAi(wire) => Model::new(wire.clone(), tap).stream(request),
        }
        .map_err(|error| from_rig(&error).0)?;
        Ok(Reply::new(stream, log, inner.config.idle_timeout))
    }

    /// `request` as rig's completion request, and what the transport does with its tools: after the
    /// first call of this client with a tool set, rig gets each tool's name alone and the transport
    /// sends the definitions rig wrote that first time ([`crate::tools`]).
    fn completion_request(&self, request: ModelRequest) -> Result<(CompletionRequest, ToolsField), LlmError> {
        let converted = history::convert(&request.messages);
        let mut messages = converted.messages;
        let Some(last) = messages.pop() else {
            return Err(LlmError::Config(
                "the conversation has no message with content to send to the model".to_owned(),
            ));
        };
        let mut completion = CompletionRequest::new(last.clone());
        messages.push(last);
        completion.chat_history = messages;
        let system: Vec<&str> = std::iter::once(request.system.as_str())
            .chain(converted.system.iter().map(String::as_str))
            .filter(|text| !text.trim().is_empty())
            .collect();
        if !system.is_empty() {
            completion = completion.preamble(system.join("\n\n"));
        }
        let client = self.inner.id;
        let field = match request.tools.encoded_for(client) {
            _ if request.tools.is_empty() => ToolsField::AsWritten,
            Some(encoded) => ToolsField::Replace(encoded),
            None => ToolsField::Keep(request.tools.clone(), client),
        };
        let placeholders = matches!(field, ToolsField::Replace(_));
        let tools = request
            .tools
            .specs()
            .iter()
            .map(|tool| {
                let name = ToolName::new(tool.name.clone())
                    .map_err(|_| LlmError::Config("a tool has an empty name".to_owned()))?;
                let (description, parameters) = match &tool.parameters {
                    _ if placeholders => (String::new(), empty_object_schema()),
                    parameters @ Value::Object(_) => (tool.description.clone(), parameters.clone()),
                    _ => (tool.description.clone(), empty_object_schema()),
                };
                Ok(ToolDefinition::new(name, description, parameters))
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        let mut completion = completion.tools(tools).max_tokens(self.inner.config.max_tokens);
        let choice = match &request.tool_choice {
            ToolChoice::Auto => None,
            ToolChoice::None => Some(rig::message::ToolChoice::None),
            ToolChoice::Required => Some(rig::message::ToolChoice::Required),
            ToolChoice::Tool(name) => {
                let name = ToolName::new(name.clone())
                    .map_err(|_| LlmError::Config("the tool choice names no tool".to_owned()))?;
                Some(rig::message::ToolChoice::Specific { function_names: vec![name] })
            }
        };
        if let Some(choice) = choice {
            completion = completion.tool_choice(choice);
        }
        if let Some(schema) = &request.response_schema
            && self.inner.config.structured_output != StructuredOutput::None
        {
            let schema = rig::schemars::Schema::try_from(schema.clone())
                .map_err(|_| LlmError::Config("the answer's schema is not a JSON schema object".to_owned()))?;
            completion = completion.output_schema(schema);
        }
        Ok((completion, field))
    }
}

/// The schema of a tool without arguments, and of a placeholder.
fn empty_object_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

/// How long to wait before retry number `attempt + 1`.
fn retry_wait(attempt: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or_else(|| FIRST_RETRY_WAIT.saturating_mul(2u32.saturating_pow(attempt))).min(MAX_RETRY_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aomi_core::ToolSpec;

    #[test]
    fn retry_waits_grow_and_are_capped() {
        assert_eq!(retry_wait(0, None), Duration::from_millis(250));
        assert_eq!(retry_wait(2, None), Duration::from_millis(1000));
        assert_eq!(retry_wait(10, None), MAX_RETRY_WAIT);
        assert_eq!(retry_wait(0, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(retry_wait(0, Some(Duration::from_secs(120))), MAX_RETRY_WAIT);
    }

    #[test]
    fn new_checks_the_config() {
        let anthropic = LlmClient::new(ModelConfig::new(Provider::Anthropic, "claude-sonnet-4-5"));
        assert!(matches!(anthropic, Err(LlmError::Config(message)) if message.contains("ANTHROPIC_API_KEY")));
        let mut local = ModelConfig::new(Provider::OpenAi, "llama3.1");
        local.base_url = Some("http://127.0.0.1:11434/v1".into());
        let client = LlmClient::new(local);
        assert_eq!(client.map(|c| c.describe()).ok().as_deref(), Some("openai:llama3.1"));
    }

    #[test]
    fn a_kept_tool_set_is_handed_to_rig_as_placeholders() {
        let mut config = ModelConfig::new(Provider::OpenAi, "m");
        config.base_url = Some("http://127.0.0.1:1/v1".into());
        let Ok(client) = LlmClient::new(config) else { panic!("client") };
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let tools = ModelTools::new(vec![ToolSpec {
            name: "echo".into(),
            description: "echoes".into(),
            parameters: schema.clone(),
        }]);
        let request = || ModelRequest::new("", vec![ChatMessage::user_text("u", "hi")]).with_tools(tools.clone());
        let Ok((built, field)) = client.completion_request(request()) else { panic!("request") };
        assert!(matches!(field, ToolsField::Keep(_, id) if id == client.inner.id));
        assert_eq!(
            built.tools.first().map(|tool| (tool.description.clone(), tool.parameters.clone())),
            Some(("echoes".into(), schema))
        );
        // What the transport keeps after the first call.
        let Ok(kept) = serde_json::value::RawValue::from_string("[{\"kept\":true}]".to_owned()) else { panic!("json") };
        tools.keep_encoded(client.inner.id, Arc::from(kept));
        let Ok((built, field)) = client.completion_request(request()) else { panic!("request") };
        assert!(matches!(&field, ToolsField::Replace(raw) if raw.get() == "[{\"kept\":true}]"));
        let tool = built
            .tools
            .first()
            .map(|tool| (tool.name.as_str().to_owned(), tool.description.clone(), tool.parameters.clone()));
        assert_eq!(tool, Some(("echo".into(), String::new(), empty_object_schema())));
        // Another client encodes the set itself.
        let Ok(other) = LlmClient::new(client.config().clone()) else { panic!("client") };
        assert!(matches!(other.completion_request(request()), Ok((_, ToolsField::Keep(..)))));
        // No tools: nothing to do.
        let bare = ModelRequest::new("", vec![ChatMessage::user_text("u", "hi")]);
        assert!(matches!(client.completion_request(bare), Ok((_, ToolsField::AsWritten))));
    }

    #[test]
    fn builds_the_request() {
        let mut config = ModelConfig::new(Provider::OpenAi, "m");
        config.api_key = Some("k".into());
        let Ok(client) = LlmClient::new(config) else { panic!("client") };
        let request = ModelRequest::new("be brief", vec![ChatMessage::user_text("u", "hi")])
            .with_tools(vec![ToolSpec { name: "echo".into(), description: "echoes".into(), parameters: Value::Null }]);
        let Ok((built, _)) = client.completion_request(request) else { panic!("request") };
        assert_eq!(built.system_instructions(), Some("be brief"));
        assert_eq!(built.chat_history.len(), 2);
        assert_eq!(built.tools.first().map(|tool| tool.parameters["type"].clone()), Some(json!("object")));
        assert_eq!(built.max_tokens, Some(crate::config::DEFAULT_MAX_TOKENS));
        let empty = client.completion_request(ModelRequest::default());
        assert!(matches!(empty, Err(LlmError::Config(_))));
    }
}
