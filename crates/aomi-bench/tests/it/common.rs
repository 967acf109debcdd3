//! An aomi server in this process whose model is a stub model.

use std::sync::Arc;
use std::time::Duration;

use aomi_agent::{AppRegistry, DefaultApp, DefaultAppConfig};
use aomi_bench::server::Target;
use aomi_llm::{LlmClient, ModelConfig};
use aomi_server::limits::Limits;
use aomi_server::{AppState, Backend, ServerConfig};
use aomi_store::{SqliteStore, Store};
use aomi_testkit::{Script, StubModel};
use aomi_tools::ToolRegistry;
use aomi_tools::time::GetCurrentTime;
use tokio::sync::oneshot;

pub struct TestServer {
    pub target: Target,
    pub stub: StubModel,
    _shutdown: oneshot::Sender<()>,
}

impl TestServer {
    /// The server `aomi serve` builds (default app, the clock tool, an in-memory SQLite store), on a free port.
    pub async fn start(script: Script) -> TestServer {
        Self::start_with_tools(script, ToolRegistry::new().with(GetCurrentTime)).await
    }

    /// The same with the chain tools too, reading the devnet at `rpc_url` (the chats' network).
    pub async fn start_with_chain(script: Script, rpc_url: &str) -> TestServer {
        let mut registry = aomi_chain::NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", rpc_url).unwrap();
        let sessions = Arc::new(aomi_chain::ChainSessions::new(registry, "devnet").unwrap());
        let tools = ToolRegistry::new().with(GetCurrentTime).merge(aomi_tools::chain::chain_tools(sessions));
        Self::start_with_tools(script, tools).await
    }

    async fn start_with_tools(script: Script, tools: ToolRegistry) -> TestServer {
        // The benchmark measures the server, not its limits: every turn comes from this machine.
        Self::start_with_limits(script, tools, Limits::off()).await
    }

    /// The clock tool's server with these limits.
    pub async fn start_limited(script: Script, limits: Limits) -> TestServer {
        Self::start_with_limits(script, ToolRegistry::new().with(GetCurrentTime), limits).await
    }

    async fn start_with_limits(script: Script, tools: ToolRegistry, limits: Limits) -> TestServer {
        let stub = StubModel::start(script).await.unwrap();
        let store = Arc::new(SqliteStore::memory().await.unwrap());
        let (target, shutdown) = serve_app(&stub.openai_base_url(), tools, store, limits).await;
        TestServer { target, stub, _shutdown: shutdown }
    }
}

/// The default app over the stub model at `stub_url` (its `…/v1`) and `store`, served on a free
/// port of this process; the server stops when the sender is dropped.
pub async fn serve_app(
    stub_url: &str,
    tools: ToolRegistry,
    store: Arc<dyn Store>,
    limits: Limits,
) -> (Target, oneshot::Sender<()>) {
    let mut config = ModelConfig::parse("openai:stub").unwrap();
    config.base_url = Some(stub_url.to_owned());
    let llm = LlmClient::new(config).unwrap();
    let app = DefaultApp::new(
        Some(llm),
        tools,
        DefaultAppConfig { max_steps: 8, tool_timeout: Duration::from_secs(5), ..Default::default() },
    );
    let backend = Backend::new(AppRegistry::new().with(Arc::new(app)), store);
    backend.start().await.unwrap();
    serve_in_process(AppState::new(backend).with_limits(limits)).await
}

/// Serves `state` on a free port of this process; the server stops when the sender is dropped.
pub async fn serve_in_process(state: AppState) -> (Target, oneshot::Sender<()>) {
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        body_limit: aomi_server::DEFAULT_BODY_LIMIT,
        web_dir: None,
        ..ServerConfig::default()
    };
    let (bound_tx, bound_rx) = oneshot::channel();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(aomi_server::serve(
        state,
        config,
        move |addr| {
            let _ = bound_tx.send(addr);
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let addr = bound_rx.await.unwrap();
    (Target { url: format!("http://{addr}"), pid: Some(std::process::id()) }, shutdown)
}
