//! The spend guards over the store: each wallet's settings ([`aomi_store::GuardStore`]) and its
//! spending of the last 24 hours, read from its recorded wallet requests, as the tools'
//! [`SpendGuard`].
//!
//! **Spent today**, precisely: over the wallet's requests recorded in the last 24 hours that went
//! to its wallet and may have been signed (outcome sent with a hash, or still pending: a request
//! awaiting the wallet can still be signed), the sum of the USD values of the wallet's negative
//! balance changes in the simulation report recorded with each (priced when it was made). A
//! request recorded without a report or without prices adds nothing: strict mode never lets an
//! unpriced request through under a limit, and the other levels say so when it passes.

use std::sync::Arc;

use aomi_chain::simulation::AssetChange;
use aomi_core::BoxFuture;
use aomi_store::{GuardStore, Store};
use aomi_tools::guard::{GuardError, GuardSettings, SpendGuard, outgoing};
use serde::Deserialize;

/// The window of the daily limit.
pub const DAY: chrono::Duration = chrono::Duration::hours(24);

/// The store as the tools' [`SpendGuard`].
#[derive(Debug, Clone)]
pub struct StoreGuards {
    store: Arc<dyn Store>,
}

impl StoreGuards {
    /// Guards read from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreGuards { store }
    }
}

/// The part of a stored simulation report the daily limit reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredChanges {
    #[serde(default)]
    asset_changes: Vec<AssetChange>,
}

/// The settings stored for a wallet, read back; the defaults (open, no limits) when none.
pub async fn stored_settings(store: &dyn GuardStore, wallet: aomi_core::Address) -> Result<GuardSettings, String> {
    match store.guards(wallet).await.map_err(|e| e.to_string())? {
        Some(record) => serde_json::from_value(record.settings).map_err(|e| format!("stored guard settings: {e}")),
        None => Ok(GuardSettings::default()),
    }
}

impl SpendGuard for StoreGuards {
    fn settings<'a>(&'a self, wallet: aomi_core::Address) -> BoxFuture<'a, Result<GuardSettings, GuardError>> {
        Box::pin(async move { stored_settings(self.store.as_ref(), wallet).await.map_err(GuardError) })
    }

    fn spent_today<'a>(&'a self, wallet: aomi_core::Address) -> BoxFuture<'a, Result<f64, GuardError>> {
        Box::pin(async move {
            let since = chrono::Utc::now() - DAY;
            let records = self.store.spending_requests(wallet, since).await.map_err(|e| GuardError(e.to_string()))?;
            let mut total = 0.0;
            for record in records {
                let Some(report) = record.request.simulation else { continue };
                match serde_json::from_value::<StoredChanges>(report) {
                    Ok(report) => total += outgoing(wallet.into_alloy(), &report.asset_changes).0,
                    Err(error) => tracing::warn!(%error, id = %record.request.id, "a stored report is unreadable"),
                }
            }
            Ok(total)
        })
    }
}
