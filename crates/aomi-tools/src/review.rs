//! What the wallet tools add to a simulation before the wallet is asked ([`WalletChecks`]): USD
//! values beside the exact asset changes, the price-impact rule on the priced changes of a swap,
//! and the wallet's spend guards ([`crate::guard`]).
//!
//! Every part is optional: without a price client nothing is priced (and a USD limit sees every
//! outgoing asset as unpriced); without a guard every request is allowed, as before guards.

use std::collections::HashMap;
use std::sync::Arc;

use aomi_chain::alloy::primitives::Address;
use aomi_chain::prices::{DefiLlama, coin_for};
use aomi_chain::risk::Warning;
use aomi_chain::risk::impact::{DEFAULT_PRICE_IMPACT_BPS, simulated_value_loss};
use aomi_chain::simulation::{AssetChange, Standard, UsdValue};
use aomi_chain::units::format_units;
use aomi_core::ToolContext;

use crate::guard::{GuardCheck, GuardRequest, SpendGuard};

/// The checks a wallet tool runs on a simulated request.
#[derive(Clone)]
pub struct WalletChecks {
    /// Prices the asset changes.
    pub prices: Option<Arc<DefiLlama>>,
    /// The wallet's spend guards.
    pub guard: Option<Arc<dyn SpendGuard>>,
    /// The threshold of the price-impact rule, in basis points.
    pub price_impact_bps: u32,
}

impl Default for WalletChecks {
    fn default() -> Self {
        WalletChecks { prices: None, guard: None, price_impact_bps: DEFAULT_PRICE_IMPACT_BPS }
    }
}

impl std::fmt::Debug for WalletChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletChecks")
            .field("prices", &self.prices.is_some())
            .field("guard", &self.guard.is_some())
            .field("price_impact_bps", &self.price_impact_bps)
            .finish()
    }
}

impl WalletChecks {
    /// Sets the USD value of each change whose asset has a known price; then, when `wallet` both
    /// gives and receives priced value (a swap), adds the price-impact warning if it loses more
    /// than the threshold. A price that cannot be read leaves its change unpriced.
    pub async fn price(
        &self,
        chain_id: u64,
        wallet: Address,
        changes: &mut [AssetChange],
        warnings: &mut Vec<Warning>,
    ) {
        let Some(prices) = &self.prices else { return };
        // One asset is asked once per report, whatever the number of holders.
        let mut known: HashMap<Option<Address>, Option<(f64, Option<String>)>> = HashMap::new();
        for change in changes.iter_mut() {
            if !matches!(change.standard, Standard::Native | Standard::Erc20) {
                continue;
            }
            let (Some(symbol), Some(decimals)) = (change.symbol.clone(), change.decimals) else { continue };
            let price = match known.get(&change.token) {
                Some(price) => price.clone(),
                None => {
                    let price = price_of(prices, chain_id, change.token, &symbol).await;
                    known.insert(change.token, price.clone());
                    price
                }
            };
            let Some((price, note)) = price else { continue };
            let delta = change.delta();
            let Ok(magnitude) = format_units(delta.unsigned_abs(), decimals).parse::<f64>() else { continue };
            let value = if delta.is_negative() { -magnitude * price } else { magnitude * price };
            change.usd = Some(UsdValue { value, price, source: "defillama".into(), note });
        }
        let mine = changes.iter().filter(|c| c.address == wallet);
        let (mut given, mut received, mut unpriced) = (0.0, 0.0, false);
        for change in mine {
            match &change.usd {
                Some(usd) if usd.value < 0.0 => given += -usd.value,
                Some(usd) => received += usd.value,
                None => unpriced = true,
            }
        }
        if !unpriced && let Some(warning) = simulated_value_loss(given, received, self.price_impact_bps) {
            warnings.push(warning);
        }
    }

    /// The guards' answer on `request` (streamed as `data-guard`); `None` without a guard.
    pub async fn guard(&self, ctx: &ToolContext, request: &GuardRequest<'_>) -> Option<GuardCheck> {
        let guard = self.guard.as_ref()?;
        Some(crate::guard::check(guard.as_ref(), ctx, request).await)
    }
}

/// The USD price of an asset and its caveat; `None` when unknown or unreadable.
async fn price_of(
    prices: &DefiLlama,
    chain_id: u64,
    token: Option<Address>,
    symbol: &str,
) -> Option<(f64, Option<String>)> {
    let (coin, note) = coin_for(chain_id, token, symbol)?;
    match prices.price(&coin).await {
        Ok(Some(price)) if price.usd.is_finite() && price.usd >= 0.0 => Some((price.usd, note)),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, %coin, "no USD price for the review");
            None
        }
    }
}
