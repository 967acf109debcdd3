//! Latency summaries: count, mean and nearest-rank percentiles, in milliseconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A set of durations summarised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Their mean, in milliseconds.
    pub mean_ms: f64,
    /// The median, in milliseconds.
    pub p50_ms: f64,
    /// The 95th percentile, in milliseconds.
    pub p95_ms: f64,
    /// The 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// The largest sample, in milliseconds.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let mean_ms = ms.iter().sum::<f64>() / ms.len() as f64;
        Some(Summary {
            count: ms.len(),
            mean_ms,
            p50_ms: percentile(&ms, 50.0),
            p95_ms: percentile(&ms, 95.0),
            p99_ms: percentile(&ms, 99.0),
            max_ms: ms[ms.len() - 1],
        })
    }
}

/// The nearest-rank percentile `p` of sorted, non-empty `sorted`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let summary = Summary::of(&samples).unwrap_or_else(|| panic!("summary"));
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p95_ms, 95.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert!((summary.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(Summary::of(&[]), None);
        let one = Summary::of(&[Duration::from_millis(7)]).map(|s| (s.p50_ms, s.p99_ms));
        assert_eq!(one, Some((7.0, 7.0)));
    }
}
