//! Transactions that aomi asked a wallet to sign, with their simulation and what became of them.
//!
//! The server never signs: a transaction here is a *request* (what the model prepared, as JSON:
//! `to`, `value`, `data`, …), the simulation report shown to the person, and the outcome the
//! wallet reported back (sent with a hash, rejected, or failed). A request the simulation held
//! back never reached the wallet; it is kept as *held*, because only a user message that comes
//! after the hold can send that same transaction anyway. A signature request (typed data or a
//! personal message) is kept here too: its review in the report column, and *signed* with the
//! signature as its outcome.

use aomi_core::Address;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

/// A transaction request to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTransaction {
    /// Its id (for example the tool call id that asked for it).
    pub id: String,
    /// The chat it belongs to.
    pub chat_id: String,
    /// The assistant message that holds the request, if any.
    pub message_id: Option<String>,
    /// The chain it is for.
    pub chain_id: u64,
    /// The sending wallet, if known (serialised lower case).
    pub from: Option<Address>,
    /// The request as JSON (`to`, `value` as a decimal string of wei, `data`, …).
    pub request: Value,
    /// The simulation report shown before signing, if simulated yet.
    pub simulation: Option<Value>,
}

/// What became of a transaction request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum TransactionOutcome {
    /// Waiting for the wallet.
    Pending,
    /// The wallet sent it.
    Sent {
        /// The transaction hash.
        tx_hash: String,
    },
    /// The wallet signed it (a signature request, `request_signature`).
    Signed {
        /// The signature, `0x` hex.
        signature: String,
    },
    /// The person rejected it.
    Rejected {
        /// The wallet's reason, if any.
        reason: Option<String>,
    },
    /// It could not be sent.
    Failed {
        /// Why.
        error: String,
    },
    /// The simulation held it back (it fails, or a danger warning fired): it never reached the
    /// wallet, and its report was shown to the person.
    Held {
        /// The id of the user message that started the turn it was held in (none in a turn that a
        /// wallet's answer continued): only a later user message can ask to send it anyway.
        user_message: Option<String>,
    },
}

impl TransactionOutcome {
    pub(crate) fn status(&self) -> &'static str {
        match self {
            TransactionOutcome::Pending => "pending",
            TransactionOutcome::Sent { .. } => "sent",
            TransactionOutcome::Signed { .. } => "signed",
            TransactionOutcome::Rejected { .. } => "rejected",
            TransactionOutcome::Failed { .. } => "failed",
            TransactionOutcome::Held { .. } => "held",
        }
    }

    /// The hash (sent) or the reason (rejected, failed), as stored in one column.
    pub(crate) fn detail(&self) -> Option<&str> {
        match self {
            TransactionOutcome::Pending => None,
            TransactionOutcome::Sent { tx_hash } => Some(tx_hash),
            TransactionOutcome::Signed { signature } => Some(signature),
            TransactionOutcome::Rejected { reason } => reason.as_deref(),
            TransactionOutcome::Failed { error } => Some(error),
            TransactionOutcome::Held { user_message } => user_message.as_deref(),
        }
    }

    pub(crate) fn from_columns(status: &str, detail: Option<String>) -> Result<Self, StoreError> {
        Ok(match status {
            "pending" => TransactionOutcome::Pending,
            "sent" => TransactionOutcome::Sent { tx_hash: detail.unwrap_or_default() },
            "signed" => TransactionOutcome::Signed { signature: detail.unwrap_or_default() },
            "rejected" => TransactionOutcome::Rejected { reason: detail },
            "failed" => TransactionOutcome::Failed { error: detail.unwrap_or_default() },
            "held" => TransactionOutcome::Held { user_message: detail },
            other => return Err(StoreError::Corrupt(format!("unknown transaction status \"{other}\""))),
        })
    }
}

/// A transaction request as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRecord {
    /// The request as recorded.
    #[serde(flatten)]
    pub request: NewTransaction,
    /// What became of it.
    pub outcome: TransactionOutcome,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Requested transactions.
#[async_trait]
pub trait TransactionStore: Send + Sync {
    /// Records a request, pending. [`StoreError::ChatNotFound`] for an unknown chat,
    /// [`StoreError::InvalidInput`] when the id is taken.
    async fn put_transaction(&self, transaction: &NewTransaction) -> Result<(), StoreError>;

    /// Attaches the simulation report.
    async fn set_simulation(&self, id: &str, report: &Value) -> Result<(), StoreError>;

    /// Records what became of it.
    async fn set_transaction_outcome(&self, id: &str, outcome: &TransactionOutcome) -> Result<(), StoreError>;

    /// The request of that id.
    async fn transaction(&self, id: &str) -> Result<Option<TransactionRecord>, StoreError>;

    /// The chat's requests, oldest first.
    async fn chat_transactions(&self, chat_id: &str) -> Result<Vec<TransactionRecord>, StoreError>;
}
