//! The chat's pending batch: transactions staged to be simulated in order and sent to the wallet
//! as one request.
//!
//! The store keeps the steps in order, each with its chain and as JSON (the tools own the step's
//! shape), and enforces what must hold across instances in one write: at most `max_steps` steps,
//! all on one chain. A step is removed by its place in the batch; the batch is taken (emptied)
//! only if it is still the one the caller simulated, so what the wallet signs is what was
//! simulated even when another instance changed the batch meanwhile.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

/// One staged step as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchStepRecord {
    /// Its order in the chat's batch (grows with each step staged; not its index).
    pub ordinal: i64,
    /// The chain it is for.
    pub chain_id: u64,
    /// The step as the tools gave it.
    pub step: Value,
}

/// What staging steps did.
#[derive(Debug, Clone, PartialEq)]
pub enum StageOutcome {
    /// They were appended: the batch as it is now.
    Staged(Vec<BatchStepRecord>),
    /// Nothing was staged: the batch would exceed `max_steps`; it holds `held` steps.
    Full {
        /// The limit.
        max_steps: usize,
        /// The steps the batch holds.
        held: usize,
    },
    /// Nothing was staged: the batch holds steps for another chain.
    OtherChain {
        /// The batch's chain.
        chain_id: u64,
    },
}

/// The chats' pending batches.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// The chat's batch, in order (empty for a chat without one, or unknown).
    async fn pending_batch(&self, chat_id: &str) -> Result<Vec<BatchStepRecord>, StoreError>;

    /// Appends `steps` (all for `chain_id`) to the chat's batch: all of them, or none when the
    /// batch would hold more than `max_steps` or is for another chain.
    /// [`StoreError::ChatNotFound`] for an unknown chat.
    async fn stage_batch_steps(
        &self,
        chat_id: &str,
        chain_id: u64,
        steps: &[Value],
        max_steps: usize,
    ) -> Result<StageOutcome, StoreError>;

    /// Removes the step at `index` (from 0) of the chat's batch: the batch as it is then, or
    /// `None` when it has no such step.
    async fn remove_batch_step(&self, chat_id: &str, index: usize) -> Result<Option<Vec<BatchStepRecord>>, StoreError>;

    /// Empties the chat's batch if it is exactly `expected` (same steps, same order); whether it
    /// did. A batch changed since it was read is left as it is.
    async fn take_batch(&self, chat_id: &str, expected: &[BatchStepRecord]) -> Result<bool, StoreError>;
}
