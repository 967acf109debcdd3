//! The knowledge tools of `aomi serve`: web search (when configured), account history, contract
//! source, and the memory of facts with labels beside every tool's addresses.

use std::sync::Arc;

use anyhow::Context;
use aomi_chain::{ChainSessions, Etherscan};
use aomi_server::knowledge::{KnowledgeConfig, StoreMemory, knowledge_tools, seed_curated_labels};
use aomi_tools::ToolRegistry;
use aomi_tools::knowledge::{Memory, SearchConfig, label_outputs};

/// The knowledge tools, ready to join the others.
pub struct Knowledge {
    tools: ToolRegistry,
    memory: Arc<dyn Memory>,
    config: KnowledgeConfig,
}

impl Knowledge {
    /// Seeds the curated labels, reads the search configuration (`BRAVE_API_KEY`,
    /// `BRAVE_BASE_URL`, `AOMI_SEARXNG_URL`) and says whether search is on.
    pub async fn setup(
        sessions: &Arc<ChainSessions>,
        store: &Arc<dyn aomi_store::Store>,
        explorer: &Etherscan,
        wallet_checks: aomi_tools::review::WalletChecks,
    ) -> anyhow::Result<Self> {
        match seed_curated_labels(store.as_ref()).await {
            Ok(count) => tracing::info!(count, "curated address labels are in the facts table"),
            Err(error) => tracing::warn!(%error, "the curated labels were not stored"),
        }
        let search = SearchConfig::from_env().map_err(anyhow::Error::msg)?;
        match &search {
            Some(config) => tracing::info!(provider = ?config.provider, "web search is ON (web_search)"),
            None => tracing::warn!(
                "web search is OFF: set BRAVE_API_KEY (Brave Search) or AOMI_SEARXNG_URL (a SearXNG instance) to turn it on"
            ),
        }
        let config = KnowledgeConfig { search, wallet_checks: Some(wallet_checks), ..KnowledgeConfig::default() };
        let tools = knowledge_tools(Arc::clone(sessions), Arc::clone(store), explorer.clone(), config.clone())
            .map_err(anyhow::Error::msg)
            .context("cannot set up the knowledge tools")?;
        Ok(Knowledge { tools, memory: StoreMemory::shared(Arc::clone(store)), config })
    }

    /// `tools` with the knowledge tools added, and every output labelled.
    pub fn around(self, tools: ToolRegistry) -> ToolRegistry {
        label_outputs(tools.merge(self.tools), self.memory, self.config.memory)
    }
}
