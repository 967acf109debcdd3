//! The chats' pending batches in the store: the store's `batch_steps` table as the tools'
//! [`BatchKeeper`], and what the page's batch routes read and change through it.

use std::sync::Arc;

use aomi_core::BoxFuture;
use aomi_store::{BatchStepRecord, BatchStore, StageOutcome};
use aomi_tools::defi::{BatchKeeper, Kept, KeptStep, PendingBatches, StagedStep};

/// The store's pending batches as the tools' [`BatchKeeper`].
#[derive(Clone)]
pub struct StoreBatches {
    store: Arc<dyn BatchStore>,
}

impl std::fmt::Debug for StoreBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBatches").finish_non_exhaustive()
    }
}

impl StoreBatches {
    /// The batches of `store` (an `Arc<dyn Store>` coerces to it).
    pub fn new(store: Arc<dyn BatchStore>) -> Self {
        StoreBatches { store }
    }

    /// The tools' pending batches over `store`, of at most `max_steps` steps each.
    pub fn pending(store: Arc<dyn BatchStore>, max_steps: usize) -> Arc<PendingBatches> {
        Arc::new(PendingBatches::new(Arc::new(Self::new(store)), max_steps))
    }
}

fn kept(records: Vec<BatchStepRecord>) -> Result<Vec<KeptStep>, String> {
    records
        .into_iter()
        .map(|record| {
            let step: StagedStep =
                serde_json::from_value(record.step).map_err(|e| format!("a stored batch step is unreadable: {e}"))?;
            Ok(KeptStep { ordinal: record.ordinal, step })
        })
        .collect()
}

fn record(kept: &KeptStep) -> Result<BatchStepRecord, String> {
    Ok(BatchStepRecord {
        ordinal: kept.ordinal,
        chain_id: kept.step.chain_id,
        step: serde_json::to_value(&kept.step).map_err(|e| e.to_string())?,
    })
}

impl BatchKeeper for StoreBatches {
    fn steps<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<KeptStep>, String>> {
        Box::pin(async move { kept(self.store.pending_batch(chat_id).await.map_err(|e| e.to_string())?) })
    }

    fn stage<'a>(
        &'a self,
        chat_id: &'a str,
        chain_id: u64,
        steps: &'a [StagedStep],
        max_steps: usize,
    ) -> BoxFuture<'a, Result<Kept, String>> {
        Box::pin(async move {
            let values =
                steps.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
            let outcome =
                self.store.stage_batch_steps(chat_id, chain_id, &values, max_steps).await.map_err(|e| e.to_string())?;
            Ok(match outcome {
                StageOutcome::Staged(records) => Kept::Staged(kept(records)?),
                StageOutcome::Full { held, .. } => Kept::Full { held },
                StageOutcome::OtherChain { chain_id } => Kept::OtherChain { chain_id },
            })
        })
    }

    fn remove<'a>(&'a self, chat_id: &'a str, index: usize) -> BoxFuture<'a, Result<Option<Vec<KeptStep>>, String>> {
        Box::pin(async move {
            self.store.remove_batch_step(chat_id, index).await.map_err(|e| e.to_string())?.map(kept).transpose()
        })
    }

    fn take<'a>(&'a self, chat_id: &'a str, expected: &'a [KeptStep]) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let expected = expected.iter().map(record).collect::<Result<Vec<_>, _>>()?;
            self.store.take_batch(chat_id, &expected).await.map_err(|e| e.to_string())
        })
    }
}
