//! The chats' compactions in the store: the store's `chat_compactions` table as the compactor's
//! [`CompactionStates`] (see `aomi_llm::compaction`), and the compactor `aomi serve` builds.

use std::sync::Arc;

use aomi_core::BoxFuture;
use aomi_llm::LlmClient;
use aomi_llm::compaction::{CompactionSettings, CompactionState, CompactionStates, Compactor};
use aomi_store::{CompactionRecord, CompactionStore};

/// The store's compactions as the compactor's [`CompactionStates`].
#[derive(Clone)]
pub struct StoreCompactions {
    store: Arc<dyn CompactionStore>,
}

impl std::fmt::Debug for StoreCompactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCompactions").finish_non_exhaustive()
    }
}

impl StoreCompactions {
    /// The compactions of `store` (an `Arc<dyn Store>` coerces to it).
    pub fn new(store: Arc<dyn CompactionStore>) -> Self {
        StoreCompactions { store }
    }

    /// A compactor calling `model` (the utility model, else the chat model) over `store`.
    pub fn compactor(
        store: Arc<dyn CompactionStore>,
        model: LlmClient,
        settings: CompactionSettings,
    ) -> Arc<Compactor> {
        Arc::new(Compactor::new(model, Arc::new(Self::new(store)), settings))
    }
}

/// The compactor's state in a stored compaction.
pub(crate) fn state_of(record: CompactionRecord) -> Result<CompactionState, String> {
    serde_json::from_value(record.state).map_err(|e| format!("a stored compaction is unreadable: {e}"))
}

impl CompactionStates for StoreCompactions {
    fn load<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Option<CompactionState>, String>> {
        Box::pin(async move {
            let record = self.store.compaction(chat_id).await.map_err(|e| e.to_string())?;
            record.map(state_of).transpose()
        })
    }

    fn save<'a>(&'a self, chat_id: &'a str, state: &'a CompactionState) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let record = CompactionRecord {
                chat_id: chat_id.to_owned(),
                summary: state.summary.clone(),
                covers_through: state.covers_through.clone().unwrap_or_default(),
                covered: state.covered as u64,
                state: serde_json::to_value(state).map_err(|e| e.to_string())?,
                updated_at: chrono::Utc::now(),
            };
            self.store.put_compaction(&record).await.map(|_| ()).map_err(|e| e.to_string())
        })
    }
}
