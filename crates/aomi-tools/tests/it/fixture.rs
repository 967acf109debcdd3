//! A devnet, chain sessions over it, and the chain tools.

use std::sync::{Arc, Mutex};

use aomi_chain::{ChainSessions, Devnet, NetworkRegistry};
use aomi_core::{ToolContext, ToolError, ToolOutput, TurnSink, UiChunk, WalletContext};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::chain_tools;
use serde_json::Value;

pub struct Chain {
    pub devnet: Devnet,
    pub sessions: Arc<ChainSessions>,
    pub tools: ToolRegistry,
    /// The store the pending batches are kept in (SQLite in memory), as `aomi serve` keeps them.
    pub store: Arc<dyn aomi_store::Store>,
}

impl Chain {
    /// The built-in networks with `devnet` pointing at a fresh anvil; chats start on the devnet.
    pub async fn start() -> Self {
        let devnet = Devnet::start().await.expect("anvil starts (npm install --prefix tools)");
        let mut registry = NetworkRegistry::builtin();
        registry.set_rpc_url("devnet", devnet.url()).unwrap();
        let sessions = Arc::new(ChainSessions::new(registry, "devnet").unwrap());
        devnet.register_contracts(sessions.contracts()).unwrap();
        devnet.register_markets(sessions.markets());
        let store: Arc<dyn aomi_store::Store> = Arc::new(aomi_store::SqliteStore::memory().await.unwrap());
        let batches =
            aomi_server::batches::StoreBatches::pending(Arc::clone(&store) as _, aomi_tools::defi::DEFAULT_MAX_STEPS);
        // No price is asked through the fixture: an address nothing listens on.
        let prices = aomi_chain::prices::PriceConfig { base_url: "http://127.0.0.1:9".into(), ..Default::default() };
        let prices = Arc::new(aomi_chain::prices::DefiLlama::new(prices).unwrap());
        let tools = chain_tools(Arc::clone(&sessions)).merge(aomi_tools::defi::defi_tools(
            Arc::clone(&sessions),
            batches,
            prices,
        ));
        Chain { devnet, sessions, tools, store }
    }

    /// Calls a tool directly, in chat "chat" with the wallet on the devnet.
    pub async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        self.call_in("chat", tool, args).await
    }

    pub async fn call_in(&self, chat: &str, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        self.ensure_chat(chat).await;
        let wallet = WalletContext { address: Some(self.devnet.accounts()[0].into()), chain_id: 31337 };
        let ctx = ToolContext::new(chat, "call-1", Some(wallet), None);
        self.tools.get(tool).unwrap_or_else(|| panic!("no tool {tool}")).call(args, ctx).await
    }

    /// Stores chat `id` (as the server does before a turn): a pending batch belongs to a stored chat.
    pub async fn ensure_chat(&self, id: &str) {
        let chat =
            aomi_store::NewChat { id: id.into(), owner: None, app: "default".into(), chain_id: None, model: None };
        self.store.ensure_chat(chat).await.unwrap();
    }

    pub fn account(&self, index: usize) -> String {
        self.devnet.accounts()[index].to_string()
    }
}

#[derive(Default)]
pub struct Collect(pub Mutex<Vec<UiChunk>>);

impl TurnSink for Collect {
    fn emit(&self, chunk: UiChunk) -> bool {
        self.0.lock().unwrap().push(chunk);
        true
    }
}

impl Collect {
    pub fn parts(&self) -> Vec<UiChunk> {
        self.0.lock().unwrap().clone()
    }
}
