//! A server on a random port, backed by the stub model, and an SSE client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aomi_agent::{AppRegistry, DefaultApp, DefaultAppConfig};
use aomi_core::stream::DONE;
use aomi_core::{ChatMessage, UiChunk};
use aomi_llm::{LlmClient, ModelConfig, ModelRoute, ModelRoutes, Provider};
use aomi_server::{AppState, Backend, ServerConfig};
use aomi_store::testing::TempDir;
use aomi_testkit::tools::{EchoTool, PanicTool, SlowTool};
use aomi_testkit::{Script, StubModel};
use aomi_tools::ToolRegistry;
use aomi_tools::time::GetCurrentTime;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const PROVIDERS: [Provider; 2] = [Provider::Anthropic, Provider::OpenAi];

/// Knobs of a test server.
pub struct Options {
    pub provider: Provider,
    pub max_steps: usize,
    pub idle_timeout: Duration,
    pub with_model: bool,
    pub body_limit: usize,
    pub web_dir: Option<std::path::PathBuf>,
    /// Tools added to the test tools (the chain tools).
    pub extra_tools: ToolRegistry,
    /// A database URL; a fresh SQLite file when `None`.
    pub database_url: Option<String>,
    /// The chain layer: the chain tools (recording wallet requests in the store) and the chain
    /// routes (`POST /api/simulate`).
    pub chain: Option<Arc<aomi_chain::ChainSessions>>,
    /// Sign-in; optional with a key of its own when `None`.
    pub auth: Option<aomi_server::auth::Auth>,
    /// The explorer `get_contract` asks (no key by default: nothing is sent).
    pub explorer: aomi_chain::EtherscanConfig,
    /// The limits; the defaults when `None`.
    pub limits: Option<aomi_server::limits::Limits>,
    /// The bearer token of `/metrics`.
    pub metrics_token: Option<String>,
    /// The app's history budget and tool output cut.
    pub app: DefaultAppConfig,
    /// Builds another app, served beside the default one, from the model and the same tools.
    pub extra_app: Option<AppFactory>,
    /// Builds another app that also takes the default app's compactor (needs `compaction`).
    pub extra_compacted_app: Option<CompactedAppFactory>,
    /// Serves `/mcp`: the test tools and the chain tools (over `chain`, else the built-in
    /// networks), as `aomi serve` does.
    pub mcp: bool,
    /// The DefiLlama base URL the wallet tool prices its reports with (none: unpriced).
    pub prices: Option<String>,
    /// Compaction of long chats: the model it calls (a utility model) and its bounds.
    pub compaction: Option<(LlmClient, aomi_llm::compaction::CompactionSettings)>,
    /// Models a chat may pick beside the default, as (id, label, model name): each on the same
    /// stub under its own model name, so the stub's requests tell which one a turn called.
    pub models: Vec<(&'static str, &'static str, &'static str)>,
    /// The intent fast path of the default app: the utility model that reads intents (resolved
    /// on `chain`, which it needs).
    pub intents: Option<LlmClient>,
}

/// A client of `stub` as an OpenAI-compatible model named `model`: a utility or planner model
/// beside the chat's, whose requests land on its own stub.
pub fn side_model_client(stub: &StubModel, model: &str) -> LlmClient {
    let mut config = ModelConfig::parse(&format!("openai:{model}")).unwrap();
    config.base_url = Some(stub.openai_base_url());
    config.idle_timeout = Duration::from_secs(10);
    LlmClient::new(config).unwrap()
}

/// Builds an app from the test server's model client and tools.
pub type AppFactory = Box<dyn FnOnce(Option<LlmClient>, ToolRegistry) -> Arc<dyn aomi_core::AomiApp> + Send>;

/// Builds an app from the test server's model client, tools and compactor.
pub type CompactedAppFactory = Box<
    dyn FnOnce(Option<LlmClient>, ToolRegistry, Arc<aomi_llm::compaction::Compactor>) -> Arc<dyn aomi_core::AomiApp>
        + Send,
>;

impl Options {
    pub fn new(provider: Provider) -> Self {
        Options {
            provider,
            max_steps: 8,
            idle_timeout: Duration::from_secs(10),
            with_model: true,
            body_limit: aomi_server::DEFAULT_BODY_LIMIT,
            web_dir: None,
            extra_tools: ToolRegistry::new(),
            database_url: None,
            chain: None,
            auth: None,
            explorer: aomi_chain::EtherscanConfig::default(),
            limits: None,
            metrics_token: None,
            app: DefaultAppConfig::default(),
            extra_app: None,
            extra_compacted_app: None,
            mcp: false,
            prices: None,
            compaction: None,
            models: Vec::new(),
            intents: None,
        }
    }
}

pub struct TestServer {
    pub url: String,
    pub stub: StubModel,
    pub http: reqwest::Client,
    pub backend: Arc<Backend>,
    /// The backend's store, for what no route shows (turn states).
    pub store: Arc<dyn aomi_store::Store>,
    /// How many times the compactor (with `compaction`) read a chat's state itself.
    pub compaction_loads: Arc<AtomicUsize>,
    _dir: Option<TempDir>,
    _shutdown: oneshot::Sender<()>,
}

/// The store's compaction states, counting the compactor's own reads of them.
struct CountedLoads {
    inner: aomi_server::compaction::StoreCompactions,
    loads: Arc<AtomicUsize>,
}

impl aomi_llm::compaction::CompactionStates for CountedLoads {
    fn load<'a>(
        &'a self,
        chat_id: &'a str,
    ) -> aomi_core::BoxFuture<'a, Result<Option<aomi_llm::compaction::CompactionState>, String>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(chat_id)
    }

    fn save<'a>(
        &'a self,
        chat_id: &'a str,
        state: &'a aomi_llm::compaction::CompactionState,
    ) -> aomi_core::BoxFuture<'a, Result<(), String>> {
        self.inner.save(chat_id, state)
    }
}

pub fn tools() -> ToolRegistry {
    ToolRegistry::new()
        .with(GetCurrentTime)
        .with(EchoTool)
        .with(PanicTool)
        .with(SlowTool { timeout: Duration::from_millis(200) })
}

impl TestServer {
    pub async fn start(script: Script, provider: Provider) -> Self {
        Self::start_with(script, Options::new(provider)).await
    }

    pub async fn start_with(script: Script, options: Options) -> Self {
        let stub = StubModel::start(script).await.expect("stub model starts");
        let client = |name: &str| {
            let base_url = match options.provider {
                Provider::Anthropic => stub.anthropic_base_url(),
                Provider::OpenAi => stub.openai_base_url(),
            };
            let mut config = ModelConfig::new(options.provider, name);
            config.api_key = Some("test-key".into());
            config.base_url = Some(base_url);
            config.idle_timeout = options.idle_timeout;
            LlmClient::new(config).expect("client builds")
        };
        let llm = options.with_model.then(|| {
            client(match options.provider {
                Provider::Anthropic => "claude-sonnet-4-5",
                Provider::OpenAi => "stub-model",
            })
        });
        let others = options
            .models
            .iter()
            .map(|(id, label, name)| ModelRoute { id: (*id).into(), label: (*label).into(), client: client(name) })
            .collect();
        let models = ModelRoutes::new(llm.clone().map(ModelRoute::of), others).expect("the models make a set");
        let (store, dir) = match &options.database_url {
            Some(url) => (aomi_store::connect(url).await.expect("the database opens"), None),
            None => {
                let dir = TempDir::new();
                let config = aomi_store::StoreConfig::in_data_dir(dir.path());
                (aomi_store::connect_with(&config).await.expect("the SQLite store opens"), Some(dir))
            }
        };
        let mut tools = tools().merge(options.extra_tools);
        if let Some(chain) = &options.chain {
            // As `aomi serve` does: the chain tools, recording wallet requests in this store.
            let explorer = aomi_chain::Etherscan::new(options.explorer.clone()).expect("the explorer client builds");
            let prices = options.prices.as_ref().map(|url| {
                let config = aomi_chain::prices::PriceConfig { base_url: url.clone(), ..Default::default() };
                Arc::new(aomi_chain::prices::DefiLlama::new(config).expect("the price client builds"))
            });
            let impact = aomi_chain::risk::impact::DEFAULT_PRICE_IMPACT_BPS;
            let checks = aomi_server::transactions::store_checks(Arc::clone(&store), prices, impact);
            tools = tools.merge(aomi_server::transactions::guarded_chain_tools(
                Arc::clone(chain),
                Arc::clone(&store),
                explorer,
                checks,
            ));
        }
        let mcp_tools = options.mcp.then(|| {
            let sessions = options.chain.clone().unwrap_or_else(|| {
                Arc::new(aomi_chain::ChainSessions::new(aomi_chain::NetworkRegistry::builtin(), "devnet").unwrap())
            });
            aomi_server::mcp::mcp_tools(&tools, sessions)
        });
        let mut apps = AppRegistry::new();
        if let Some(build) = options.extra_app {
            apps = apps.with(build(llm.clone(), tools.clone()));
        }
        let compaction_loads = Arc::new(AtomicUsize::new(0));
        let compactor = options.compaction.map(|(model, settings)| {
            let states = CountedLoads {
                inner: aomi_server::compaction::StoreCompactions::new(Arc::clone(&store) as _),
                loads: Arc::clone(&compaction_loads),
            };
            Arc::new(aomi_llm::compaction::Compactor::new(model, Arc::new(states), settings))
        });
        if let Some(build) = options.extra_compacted_app {
            let compactor = compactor.clone().expect("a compacted app needs `compaction`");
            apps = apps.with(build(llm.clone(), tools.clone(), compactor));
        }
        let app = DefaultApp::new(
            models.clone(),
            tools,
            DefaultAppConfig { max_steps: options.max_steps, tool_timeout: Duration::from_secs(5), ..options.app },
        );
        let app = match compactor {
            Some(compactor) => app.with_compaction(compactor),
            None => app,
        };
        let app = match (options.intents, &options.chain) {
            (Some(utility), Some(chain)) => app.with_intents(Arc::new(aomi_agent::IntentFastPath::new(
                utility,
                aomi_tools::intent::IntentResolver(Arc::clone(chain)),
            ))),
            (Some(_), None) => panic!("the intent fast path needs the chain"),
            (None, _) => app,
        };
        let backend = Backend::with_options(
            apps.with(Arc::new(app)),
            Arc::clone(&store),
            aomi_server::BackendOptions { models, ..Default::default() },
        );
        backend.start().await.expect("the backend starts");
        let config = ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            body_limit: options.body_limit,
            web_dir: options.web_dir.clone(),
            ..ServerConfig::default()
        };
        let (bound_tx, bound_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let mut state = AppState::new(Arc::clone(&backend))
            .with_auth(options.auth.unwrap_or_default())
            .with_limits(options.limits.unwrap_or_default())
            .with_metrics_token(options.metrics_token);
        state.chain = options.chain;
        if let Some(tools) = mcp_tools {
            let options = aomi_server::mcp::McpOptions { default_chain_id: 31337, ..Default::default() };
            state = state.with_mcp(aomi_server::mcp::McpServer::new(tools, Arc::clone(&backend) as _, options));
        }
        tokio::spawn(aomi_server::serve(
            state,
            config,
            move |addr| {
                let _ = bound_tx.send(addr);
            },
            async move {
                let _ = shutdown_rx.await;
            },
        ));
        let addr = bound_rx.await.expect("server binds");
        TestServer {
            url: format!("http://{addr}"),
            stub,
            http: reqwest::Client::new(),
            backend,
            store,
            compaction_loads,
            _dir: dir,
            _shutdown: shutdown_tx,
        }
    }

    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}/api/chat", self.url)).json(body).send().await.expect("POST /api/chat")
    }

    /// Sends a user message and reads the whole stream.
    pub async fn turn(&self, chat_id: &str, text: &str) -> Vec<UiChunk> {
        let response = self.post(&user_body(chat_id, text)).await;
        assert_eq!(response.status(), 200, "POST /api/chat failed: {:?}", response.text().await);
        read_stream(response).await
    }

    pub async fn chat(&self, chat_id: &str) -> Value {
        let response = self.get(&format!("/api/chats/{chat_id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).send().await.expect("GET")
    }

    /// The messages of a chat owned by `owner`.
    pub async fn messages_of(&self, chat_id: &str, owner: &str) -> Vec<ChatMessage> {
        let response = self.get(&format!("/api/chats/{chat_id}?owner={owner}")).await;
        assert_eq!(response.status(), 200);
        let chat: Value = response.json().await.unwrap();
        serde_json::from_value(chat["messages"].clone()).expect("messages parse")
    }

    pub async fn messages(&self, chat_id: &str) -> Vec<ChatMessage> {
        serde_json::from_value(self.chat(chat_id).await["messages"].clone()).expect("messages parse")
    }
}

pub fn user_body(chat_id: &str, text: &str) -> Value {
    json!({
        "id": chat_id,
        "message": user(text),
        "wallet": { "chainId": 31337 }
    })
}

/// A user message sent from `wallet`.
pub fn user_body_from(chat_id: &str, text: &str, wallet: &str) -> Value {
    let mut body = user_body(chat_id, text);
    body["wallet"]["address"] = wallet.into();
    body
}

/// Reads an SSE response to its end and checks the protocol's framing: the header, `[DONE]` last,
/// and `finish` right before it.
pub async fn read_stream(response: reqwest::Response) -> Vec<UiChunk> {
    let parts = PartReader::new(response).rest().await;
    assert!(matches!(parts.last(), Some(UiChunk::Finish { .. })), "finish is the last part: {parts:?}");
    parts
}

/// Reads the parts of an SSE response one at a time.
pub struct PartReader {
    events: std::pin::Pin<Box<dyn futures::Stream<Item = Result<eventsource_stream::Event, String>> + Send>>,
}

impl PartReader {
    /// A reader of the response, after checking its headers.
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.headers().get("x-vercel-ai-ui-message-stream").unwrap(), "v1");
        assert_eq!(response.headers().get("x-accel-buffering").unwrap(), "no");
        let events = response.bytes_stream().eventsource().map(|event| event.map_err(|e| e.to_string()));
        PartReader { events: Box::pin(events) }
    }

    /// Reads parts until one satisfies `stop`, and returns them all (that one last).
    pub async fn until(&mut self, stop: impl Fn(&UiChunk) -> bool) -> Vec<UiChunk> {
        let mut parts = Vec::new();
        loop {
            let event = self.events.next().await.expect("the stream goes on").expect("SSE event");
            assert_ne!(event.data, DONE, "the stream ended early: {parts:?}");
            let part: UiChunk = serde_json::from_str(&event.data).expect("a known part");
            let found = stop(&part);
            parts.push(part);
            if found {
                return parts;
            }
        }
    }

    /// Reads the remaining parts, and checks that `[DONE]` ends the stream.
    pub async fn rest(mut self) -> Vec<UiChunk> {
        let mut parts = Vec::new();
        let mut done = false;
        while let Some(event) = self.events.next().await {
            let event = event.expect("SSE event");
            assert!(!done, "nothing may follow [DONE]");
            if event.data == DONE {
                done = true;
                continue;
            }
            parts.push(serde_json::from_str::<UiChunk>(&event.data).expect("a known part"));
        }
        assert!(done, "the stream ends with [DONE]");
        parts
    }
}

/// The part types, with runs of the same delta type collapsed.
pub fn kinds(parts: &[UiChunk]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for part in parts {
        let value = serde_json::to_value(part).unwrap();
        let kind = value["type"].as_str().unwrap().to_owned();
        if kind.ends_with("-delta") && kinds.last() == Some(&kind) {
            continue;
        }
        kinds.push(kind);
    }
    kinds
}

pub fn text_of(parts: &[UiChunk]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

pub fn errors_of(parts: &[UiChunk]) -> Vec<String> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::Error { error_text } => Some(error_text.clone()),
            _ => None,
        })
        .collect()
}

pub fn tool_errors_of(parts: &[UiChunk]) -> Vec<String> {
    parts
        .iter()
        .filter_map(|p| match p {
            UiChunk::ToolOutputError { error_text, .. } => Some(error_text.clone()),
            _ => None,
        })
        .collect()
}

pub fn new_chat_id() -> String {
    format!("chat-{}", uuid::Uuid::new_v4().simple())
}

/// A new user message (UIMessage JSON) with this text.
pub fn user(text: &str) -> Value {
    json!({ "id": format!("u-{}", uuid::Uuid::new_v4()), "role": "user", "parts": [{ "type": "text", "text": text }] })
}

/// How the stream ended: the `finish` part's reason.
pub fn finish_reason(parts: &[UiChunk]) -> Option<aomi_core::FinishReason> {
    match parts.last() {
        Some(UiChunk::Finish { finish_reason, .. }) => *finish_reason,
        _ => None,
    }
}

/// How the web page answers a wallet call `call_id` of the turn in `parts` once the wallet sent
/// `hash`: the same assistant message again, the call in `output-available` with the hash.
pub fn wallet_answer(parts: &[UiChunk], call_id: &str, hash: &str) -> Value {
    let message_id = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::Start { message_id, .. } => message_id.clone(),
            _ => None,
        })
        .expect("the turn's start names its message");
    let input = parts
        .iter()
        .find_map(|p| match p {
            UiChunk::ToolInputAvailable { tool_call_id, input, .. } if tool_call_id == call_id => Some(input.clone()),
            _ => None,
        })
        .expect("the call's input is on the stream");
    json!({
        "id": message_id,
        "role": "assistant",
        "parts": [{
            "type": "tool-send_transaction_to_wallet",
            "toolCallId": call_id,
            "state": "output-available",
            "input": input,
            "output": { "transactionHash": hash }
        }]
    })
}
