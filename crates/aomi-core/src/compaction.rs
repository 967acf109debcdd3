//! [`CompactionState`]: what a long chat's older turns became. The compactor
//! (`aomi_llm::compaction`) shapes it, the store keeps it per chat, and a turn's input can carry
//! it when the backend read it with the turn's start ([`crate::TurnInput::compaction`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A chat's compaction: what its older turns became.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CompactionState {
    /// The summary of the covered messages ("" while none is).
    pub summary: String,
    /// Facts kept from the covered messages.
    pub facts: Vec<String>,
    /// How many messages, from the chat's first, the summary covers.
    pub covered: usize,
    /// The id of the last covered message (checked against the history before use).
    pub covers_through: Option<String>,
    /// Summaries of large tool outputs still sent, by tool call id.
    pub digests: BTreeMap<String, String>,
    /// Provider tokens per estimated token, from the provider's usage figures (none yet: 1).
    pub calibration: Option<f64>,
}
