//! Requested transactions in the store: each wallet request with the simulation report shown
//! before signing, and what the wallet answered.
//!
//! A request is recorded under `<chat id>/<tool call id>` (a tool call id is unique within its
//! chat, not across chats) when `send_transaction_to_wallet` sends it to the wallet; the wallet's
//! answer (a hash, or a rejection) sets its outcome when the client returns the call's output.
//! A request the simulation held back is recorded too, as held, with the user message of its turn:
//! the tool reads the holds to decide whether a later override comes from the user. A signature
//! request (`request_signature`) is recorded the same way, its review in the report column, and
//! set to signed (with the signature) or rejected by the wallet's answer.

use std::sync::Arc;

use aomi_chain::{ChainSessions, ContractDb, Etherscan};
use aomi_core::{BoxFuture, ChatMessage, MessagePart, ToolState};
use aomi_store::{NewTransaction, Store, StoreError, TransactionOutcome};
use aomi_tools::ToolRegistry;
use aomi_tools::chain::{
    HeldTransaction, RequestSignature, RequestedTransaction, SIGNATURE_TOOL, SimulateBeforeSend, TransactionRecorder,
    WALLET_TOOL, contract_tools,
};
use aomi_tools::review::WalletChecks;

use crate::contract_cache::StoreContractCache;

/// The chain tools, with every wallet request and its report recorded in `store`, checked
/// against the wallet's spend guards kept there (without prices: see [`guarded_chain_tools`]),
/// and `get_contract` answering from `store`'s contract database, then `explorer`.
pub fn recorded_chain_tools(sessions: Arc<ChainSessions>, store: Arc<dyn Store>, explorer: Etherscan) -> ToolRegistry {
    let checks = store_checks(Arc::clone(&store), None, aomi_chain::risk::impact::DEFAULT_PRICE_IMPACT_BPS);
    guarded_chain_tools(sessions, store, explorer, checks)
}

/// [`recorded_chain_tools`] whose wallet tool runs `checks` (prices, the price-impact rule, the
/// spend guards).
pub fn guarded_chain_tools(
    sessions: Arc<ChainSessions>,
    store: Arc<dyn Store>,
    explorer: Etherscan,
    checks: WalletChecks,
) -> ToolRegistry {
    let cache = StoreContractCache::shared(Arc::clone(&store) as Arc<dyn aomi_store::ContractStore>);
    let contracts = Arc::new(ContractDb::new(cache, explorer));
    let recorder: Arc<dyn TransactionRecorder> = Arc::new(StoreTransactions { store });
    // A later tool of the same name replaces the unrecorded one.
    contract_tools(Arc::clone(&sessions), contracts)
        .with(
            SimulateBeforeSend::new(Arc::clone(&sessions))
                .recording_to(Arc::clone(&recorder))
                .with_checks(checks.clone()),
        )
        .with(RequestSignature::new(sessions).recording_to(recorder).with_checks(checks))
}

/// `request_signature` with `limits` and the wallet `checks` (its spend guards), recording every
/// request and its review in `store` (merged after [`guarded_chain_tools`], it replaces the one
/// with the default limits).
pub fn recorded_signatures(
    sessions: Arc<ChainSessions>,
    store: Arc<dyn Store>,
    limits: aomi_chain::typed_data::SigningLimits,
    checks: WalletChecks,
) -> ToolRegistry {
    let recorder = Arc::new(StoreTransactions { store });
    ToolRegistry::new()
        .with(RequestSignature::new(sessions).with_limits(limits).recording_to(recorder).with_checks(checks))
}

/// The wallet checks over `store`: its spend guards, `prices` for the USD values, and the
/// price-impact threshold.
pub fn store_checks(
    store: Arc<dyn Store>,
    prices: Option<Arc<aomi_chain::prices::DefiLlama>>,
    price_impact_bps: u32,
) -> WalletChecks {
    WalletChecks { prices, guard: Some(Arc::new(crate::guards::StoreGuards::new(store))), price_impact_bps }
}

/// The store's transactions table as the tools' [`TransactionRecorder`].
#[derive(Debug, Clone)]
pub struct StoreTransactions {
    store: Arc<dyn Store>,
}

impl StoreTransactions {
    /// Records into `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreTransactions { store }
    }
}

/// The id a request is stored under.
pub fn transaction_id(chat_id: &str, tool_call_id: &str) -> String {
    format!("{chat_id}/{tool_call_id}")
}

fn new_transaction(transaction: RequestedTransaction) -> Result<NewTransaction, String> {
    let from = transaction.from.as_deref().map(aomi_core::Address::parse).transpose().map_err(|e| e.to_string())?;
    Ok(NewTransaction {
        id: transaction_id(&transaction.chat_id, &transaction.id),
        chat_id: transaction.chat_id,
        message_id: None,
        chain_id: transaction.chain_id,
        from,
        request: transaction.request,
        simulation: transaction.simulation,
    })
}

impl TransactionRecorder for StoreTransactions {
    fn record<'a>(&'a self, transaction: RequestedTransaction) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(
            async move { self.store.put_transaction(&new_transaction(transaction)?).await.map_err(|e| e.to_string()) },
        )
    }

    fn record_hold<'a>(
        &'a self,
        transaction: RequestedTransaction,
        user_message: Option<String>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let record = new_transaction(transaction)?;
            self.store.put_transaction(&record).await.map_err(|e| e.to_string())?;
            let held = TransactionOutcome::Held { user_message };
            self.store.set_transaction_outcome(&record.id, &held).await.map_err(|e| e.to_string())
        })
    }

    fn holds<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, Result<Vec<HeldTransaction>, String>> {
        Box::pin(async move {
            let all = self.store.chat_transactions(chat_id).await.map_err(|e| e.to_string())?;
            Ok(all
                .into_iter()
                .filter_map(|record| match record.outcome {
                    TransactionOutcome::Held { user_message } => {
                        Some(HeldTransaction { request: record.request.request, user_message })
                    }
                    _ => None,
                })
                .collect())
        })
    }
}

/// Sets the outcome of every wallet request of `stored` that `incoming` answers: a transaction
/// sent with its hash, a signature request signed with its signature, or rejected with the
/// wallet's reason. Only a pending request changes: one never recorded is skipped, and a held one
/// (its call ended with the hold, and comes back in every later copy of the message) stays held.
pub(crate) async fn record_outcomes(store: &dyn Store, chat_id: &str, stored: &ChatMessage, incoming: &ChatMessage) {
    for part in &stored.parts {
        let MessagePart::Tool(tool) = part else { continue };
        let signing = tool.tool_name == SIGNATURE_TOOL;
        if (tool.tool_name != WALLET_TOOL && !signing)
            || !incoming.tool_parts().any(|reply| reply.tool_call_id == tool.tool_call_id)
        {
            continue;
        }
        let outcome = match tool.state {
            ToolState::OutputAvailable if signing => {
                match tool.output.as_ref().and_then(|o| o["signature"].as_str()).filter(|s| is_signature(s)) {
                    Some(signature) => TransactionOutcome::Signed { signature: signature.to_lowercase() },
                    None => TransactionOutcome::Failed { error: "the wallet answered without a signature".into() },
                }
            }
            ToolState::OutputAvailable => {
                match tool.output.as_ref().and_then(|o| o["transactionHash"].as_str()).filter(|h| is_hash(h)) {
                    Some(hash) => TransactionOutcome::Sent { tx_hash: hash.to_lowercase() },
                    None => {
                        TransactionOutcome::Failed { error: "the wallet answered without a transaction hash".into() }
                    }
                }
            }
            ToolState::OutputError => TransactionOutcome::Rejected { reason: tool.error_text.clone() },
            _ => continue,
        };
        let id = transaction_id(chat_id, &tool.tool_call_id);
        match store.transaction(&id).await {
            Ok(Some(record)) if record.outcome == TransactionOutcome::Pending => {}
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(%error, %id, "the wallet's answer was not recorded");
                continue;
            }
        }
        match store.set_transaction_outcome(&id, &outcome).await {
            Ok(()) | Err(StoreError::TransactionNotFound(_)) => {}
            Err(error) => tracing::warn!(%error, %id, "the wallet's answer was not recorded"),
        }
    }
}

/// A signature: `0x` and at least 65 bytes of hex (a smart-contract wallet's may be longer).
fn is_signature(text: &str) -> bool {
    text.len() >= 132
        && text.len().is_multiple_of(2)
        && text.starts_with("0x")
        && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_hash(text: &str) -> bool {
    text.len() == 66 && text.starts_with("0x") && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}
