//! The price-impact rule (`high-price-impact`): a swap that gives up more than a threshold of its
//! value, measured two ways.
//!
//! - On a **quote**: the price impact the DEX quote measured against the pool's mid price (the
//!   pool's fee excluded), in millionths ([`crate::dex::SwapQuote::price_impact_ppm`]).
//! - On a **simulation** (a sent or staged swap): the USD value of what the wallet receives
//!   against the USD value of what it gives, both priced after the simulation; this counts the
//!   pool's fee too, and needs every asset priced, so it fires only where the prices are known.
//!
//! Either way the warning is of level warning above the threshold and danger above ten times it.
//! The threshold is configurable (`price_impact_warning_bps`, 1 % by default).

use super::{Level, Warning};

/// The rule's id.
pub const HIGH_PRICE_IMPACT: &str = "high-price-impact";

/// The default threshold: 1 %, in basis points.
pub const DEFAULT_PRICE_IMPACT_BPS: u32 = 100;

fn level(ppm: u64, threshold_bps: u32) -> Option<Level> {
    let threshold = u64::from(threshold_bps) * 100;
    if ppm <= threshold {
        None
    } else if ppm > threshold.saturating_mul(10) {
        Some(Level::Danger)
    } else {
        Some(Level::Warning)
    }
}

/// A percentage of millionths, without trailing zeros: 12_500 → "1.25".
pub fn percent(ppm: u64) -> String {
    let whole = ppm / 10_000;
    let fraction = ppm % 10_000;
    format!("{whole}.{fraction:04}").trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The warning on a quote whose price impact (millionths) is above `threshold_bps`.
pub fn quote_price_impact(impact_ppm: u64, threshold_bps: u32) -> Option<Warning> {
    let level = level(impact_ppm, threshold_bps)?;
    Some(Warning {
        id: HIGH_PRICE_IMPACT.into(),
        level,
        message: format!(
            "This trade moves the pool's price by {} % (above the {} % threshold): you receive that much less than the market price. Trade a smaller amount or split it.",
            percent(impact_ppm),
            percent(u64::from(threshold_bps) * 100)
        ),
    })
}

/// The warning on a simulated swap that gives `given_usd` of value and receives `received_usd`,
/// when the loss is above `threshold_bps`; `None` when nothing is given or received.
pub fn simulated_value_loss(given_usd: f64, received_usd: f64, threshold_bps: u32) -> Option<Warning> {
    if !(given_usd.is_finite() && received_usd.is_finite()) || given_usd <= 0.0 || received_usd <= 0.0 {
        return None;
    }
    let lost = ((given_usd - received_usd) / given_usd).max(0.0);
    // Millionths of the value given, rounded down: a float only ever this precise.
    let ppm = (lost * 1_000_000.0) as u64;
    let level = level(ppm, threshold_bps)?;
    Some(Warning {
        id: HIGH_PRICE_IMPACT.into(),
        level,
        message: format!(
            "At market prices this swap gives ${given_usd:.2} and receives ${received_usd:.2}: {} % of the value is lost to price impact and fees (above the {} % threshold).",
            percent(ppm),
            percent(u64::from(threshold_bps) * 100)
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_quote_is_flagged_above_the_threshold_and_danger_above_ten_times_it() {
        assert_eq!(quote_price_impact(10_000, 100), None, "exactly the threshold does not fire");
        let warning = quote_price_impact(10_001, 100).unwrap();
        assert_eq!((warning.id.as_str(), warning.level), (HIGH_PRICE_IMPACT, Level::Warning));
        assert!(warning.message.contains("1.0001 %"), "{}", warning.message);
        assert_eq!(quote_price_impact(100_001, 100).unwrap().level, Level::Danger);
        assert_eq!(quote_price_impact(30_000, 500), None, "a higher threshold lets 3 % through");
        assert_eq!(quote_price_impact(30_000, 200).unwrap().level, Level::Warning);
    }

    #[test]
    fn a_simulated_swap_is_flagged_by_the_value_it_loses() {
        assert_eq!(simulated_value_loss(1000.0, 995.0, 100), None, "0.5 % lost is under 1 %");
        let warning = simulated_value_loss(1000.0, 950.0, 100).unwrap();
        assert_eq!(warning.level, Level::Warning);
        assert!(warning.message.contains("5 %"), "{}", warning.message);
        assert_eq!(simulated_value_loss(1000.0, 800.0, 100).unwrap().level, Level::Danger);
        assert_eq!(simulated_value_loss(0.0, 10.0, 100), None, "nothing given: not a swap");
        assert_eq!(simulated_value_loss(10.0, 0.0, 100), None, "nothing received: not a swap");
        assert_eq!(simulated_value_loss(1000.0, 1200.0, 100), None, "a gain is no impact");
    }
}
