//! Latency histograms (HDR, microseconds) and their JSON form, which keeps the recorded buckets so the summaries of
//! several processes (`--procs`) merge exactly.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Longest latency recorded (anything slower is clamped to it): one minute.
const MAX_US: u64 = 60_000_000;

/// One latency distribution.
pub struct Hist(Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        // 3 significant digits over 1 µs..60 s: a few tens of KiB, fixed size.
        Self(Histogram::new_with_bounds(1, MAX_US, 3).expect("constant bounds are valid"))
    }
}

impl Hist {
    /// Records one sample.
    pub fn record(&mut self, d: Duration) {
        self.0.saturating_record((d.as_micros() as u64).clamp(1, MAX_US));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &HistSummary) {
        for &(value, count) in &other.buckets {
            let _ = self.0.record_n(value.clamp(1, MAX_US), count);
        }
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// The summary written to JSON.
    pub fn summary(&self) -> HistSummary {
        let h = &self.0;
        let ms = |q: f64| if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1000.0 };
        HistSummary {
            count: h.len(),
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 },
            buckets: h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect(),
        }
    }
}

/// Percentiles in milliseconds, and the recorded buckets (value in µs, count) for merging.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HistSummary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// `(µs, count)` pairs.
    pub buckets: Vec<(u64, u64)>,
}
