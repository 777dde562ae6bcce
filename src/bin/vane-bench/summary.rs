//! The JSON summary every scenario writes (`--json FILE`) and prints, and how the summaries of several processes
//! merge into one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hist::{Hist, HistSummary};
use crate::server::ServerUsage;

/// The outcome of one scenario run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// The options it ran with.
    pub params: Value,
    /// Counted outcomes (`attempted`, `completed`, `failed`, `lost`, …).
    pub counts: BTreeMap<String, u64>,
    /// Latency distributions.
    pub latencies: BTreeMap<String, HistSummary>,
    /// Throughputs per second over `elapsed_s`.
    pub rates: BTreeMap<String, f64>,
    /// Wall-clock seconds of the measured phase.
    pub elapsed_s: f64,
    /// The server's memory and CPU, when `--server-pid` was given.
    pub server: Option<ServerUsage>,
    /// Scenario-specific findings (RSS per size, slopes, bytes).
    pub extra: BTreeMap<String, Value>,
    /// `/proc/loadavg` at the end: these numbers mean little on a busy machine.
    pub load_avg: String,
    /// Processes the run was split over.
    pub procs: usize,
}

impl Summary {
    /// An empty summary for `scenario`.
    pub fn new(scenario: &str, params: Value) -> Self {
        Self { scenario: scenario.into(), params, procs: 1, ..Self::default() }
    }

    /// Adds to a counter.
    pub fn count(&mut self, key: &str, n: u64) {
        *self.counts.entry(key.into()).or_default() += n;
    }

    /// Stores a histogram.
    pub fn latency(&mut self, key: &str, h: &Hist) {
        self.latencies.insert(key.into(), h.summary());
    }

    /// Sets the rate of counter `key` over the elapsed time.
    pub fn rate_of(&mut self, key: &str) {
        let n = self.counts.get(key).copied().unwrap_or(0) as f64;
        self.rates.insert(key.into(), if self.elapsed_s > 0.0 { n / self.elapsed_s } else { 0.0 });
    }

    /// Stamps the load average and writes the JSON file if asked.
    pub fn finish(mut self, json: Option<&Path>) -> anyhow::Result<Self> {
        self.load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_owned();
        if let Some(path) = json {
            std::fs::write(path, serde_json::to_vec_pretty(&self)?)?;
        }
        Ok(self)
    }

    /// Merges the summaries of the processes of one run: counts add up, histograms merge, elapsed is the longest
    /// and rates are recomputed over it.
    pub fn merge(parts: Vec<Summary>) -> Summary {
        let mut out = parts.first().cloned().unwrap_or_default();
        out.counts.clear();
        out.latencies.clear();
        out.procs = parts.len();
        let mut hists: BTreeMap<String, Hist> = BTreeMap::new();
        for part in &parts {
            out.elapsed_s = out.elapsed_s.max(part.elapsed_s);
            for (k, v) in &part.counts {
                out.count(k, *v);
            }
            for (k, h) in &part.latencies {
                hists.entry(k.clone()).or_default().merge(h);
            }
        }
        for (k, h) in &hists {
            out.latency(k, h);
        }
        let keys: Vec<String> = out.rates.keys().cloned().collect();
        for k in keys {
            out.rate_of(&k);
        }
        out
    }

    /// A short human-readable report (the JSON file carries everything).
    pub fn report(&self) -> String {
        let mut s =
            format!("{} ({} proc, {:.2} s, load {})\n", self.scenario, self.procs, self.elapsed_s, self.load_avg);
        for (k, v) in &self.counts {
            s += &format!("  {k}: {v}\n");
        }
        for (k, v) in &self.rates {
            s += &format!("  {k}/s: {v:.0}\n");
        }
        for (k, h) in &self.latencies {
            s += &format!(
                "  {k}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})\n",
                h.p50_ms, h.p99_ms, h.max_ms, h.count
            );
        }
        if let Some(u) = &self.server {
            s += &format!(
                "  server: RSS {} → {} KiB (peak {} KiB), CPU {:.2} s\n",
                u.start.rss_kib, u.end.rss_kib, u.peak_rss_kib, u.cpu_s
            );
        }
        for (k, v) in &self.extra {
            s += &format!("  {k}: {v}\n");
        }
        s
    }
}
