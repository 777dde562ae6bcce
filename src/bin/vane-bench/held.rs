//! `held`: idle server sessions held open, each pinging at the SDK cadence. The server's RSS is read after each
//! size is reached (`--sizes 2000,6000,12000,18000`), and the per-session slope is fitted over the sizes, so a
//! fixed baseline does not count. At the end every session must have had every ping answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;

use crate::admin::Admin;
use crate::common::{Common, bar};
use crate::hist::Hist;
use crate::net::{Dialer, Ws};
use crate::sdk::{self, Kind};
use crate::server::Sampler;
use crate::storm::small_env;
use crate::summary::Summary;

/// Options of `vane-bench held`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session counts at which the server's RSS is read, ascending.
    #[arg(long, value_delimiter = ',', default_value = "2000,6000,12000,18000")]
    pub sizes: Vec<usize>,
    /// Ping interval per session, ms (SDKs: 18,000).
    #[arg(long, default_value_t = sdk::PING_EVERY.as_millis() as u64)]
    pub ping_every_ms: u64,
    /// How long to hold the largest size with pings going on, seconds.
    #[arg(long, default_value_t = 40)]
    pub hold_seconds: u64,
    /// Pause after reaching each size before reading the RSS, ms (lets allocator and kernel settle).
    #[arg(long, default_value_t = 2000)]
    pub settle_ms: u64,
    /// Connections opened at once.
    #[arg(long, default_value_t = 100)]
    pub connect_concurrency: usize,
}

/// Pings and pongs across all sessions.
#[derive(Default)]
struct Tally {
    pings: AtomicU64,
    pongs: AtomicU64,
    dropped: AtomicU64,
}

/// Holds one synced session: pings every `every` (first at a random phase), counts pongs, ends on `stop`.
async fn hold(
    mut ws: Ws,
    every: Duration,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
    rtt: Arc<std::sync::Mutex<Hist>>,
) {
    let phase = Duration::from_millis(rand::random_range(0..every.as_millis().max(1) as u64));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
    let (mut sent, mut got, mut last) = (0u64, 0u64, Instant::now());
    loop {
        tokio::select! {
            _ = tick.tick(), if !*stop.borrow() => {
                if ws.send(sdk::ping()).await.is_err() { break; }
                sent += 1;
                last = Instant::now();
                tally.pings.fetch_add(1, Ordering::Relaxed);
            }
            msg = ws.next() => match msg {
                Some(Ok(m)) if m.to_text().ok().and_then(sdk::message_type) == Some("pong") => {
                    got += 1;
                    tally.pongs.fetch_add(1, Ordering::Relaxed);
                    rtt.lock().map(|mut h| h.record(last.elapsed())).ok();
                    if *stop.borrow() && got >= sent { break; }
                }
                Some(Ok(_)) => {}
                _ => { tally.dropped.fetch_add(1, Ordering::Relaxed); return; }
            },
            _ = stop.changed() => if got >= sent { break },
        }
    }
    let _ = ws.close(None).await;
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = small_env(&admin, "held").await?;
    let dialer = Arc::new(Dialer::new(&common.url, common.source_addrs)?);
    let mut summary = Summary::new("held", json!({"sizes": args.sizes, "ping_every_ms": args.ping_every_ms}));
    let (tally, rtt) = (Arc::new(Tally::default()), Arc::new(std::sync::Mutex::new(Hist::default())));
    let (stop_tx, stop_rx) = watch::channel(false);
    let every = Duration::from_millis(args.ping_every_ms.max(10));
    let sampler = Sampler::start(common.server_pid);
    let mut tasks = tokio::task::JoinSet::new();
    let mut points = Vec::new();
    let started = Instant::now();
    let progress = bar(args.sizes.iter().max().copied().unwrap_or(0) as u64, "held");
    let mut open = 0usize;
    for &size in &args.sizes {
        let opened: Vec<anyhow::Result<Ws>> = futures_util::stream::iter(open..size.max(open))
            .map(|i| {
                let (dialer, secret) = (dialer.clone(), env.server.clone());
                async move {
                    let mut ws = sdk::open(&dialer, Kind::Server, &secret, i).await?;
                    sdk::sync(&mut ws, Kind::Server, i).await?;
                    Ok(ws)
                }
            })
            .buffer_unordered(args.connect_concurrency.max(1))
            .collect()
            .await;
        for ws in opened {
            progress.inc(1);
            match ws {
                Ok(ws) => drop(tasks.spawn(hold(ws, every, tally.clone(), stop_rx.clone(), rtt.clone()))),
                Err(e) => {
                    eprintln!("session failed: {e:#}");
                    summary.count("failed", 1);
                }
            }
        }
        open = size.max(open);
        tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
        let rss = sampler.as_ref().map(Sampler::rss_now);
        points.push(json!({"sessions": tasks.len(), "rss_kib": rss}));
    }
    tokio::time::sleep(Duration::from_secs(args.hold_seconds)).await;
    let held = tasks.len();
    stop_tx.send(true).context("stop")?;
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(sdk::REPLY_TIMEOUT, drain).await;
    progress.finish_and_clear();
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.count("held", held as u64);
    summary.count("failed", 0);
    summary.count("pings", tally.pings.load(Ordering::Relaxed));
    summary.count("pongs", tally.pongs.load(Ordering::Relaxed));
    summary.count("dropped_by_server", tally.dropped.load(Ordering::Relaxed));
    let rtt = rtt.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.summary();
    summary.latencies.insert("ping_to_pong".into(), rtt);
    summary.server = sampler.map(Sampler::finish);
    if let Some(slope) = slope(&points) {
        summary.extra.insert("kib_per_session".into(), json!(slope));
        let base = points[0]["rss_kib"].as_f64().unwrap_or(0.0) - slope * points[0]["sessions"].as_f64().unwrap_or(0.0);
        summary.extra.insert("projected_mib_at_100k".into(), json!((base + slope * 100_000.0) / 1024.0));
    }
    summary.extra.insert("rss_by_size".into(), json!(points));
    admin.delete_env(&env).await;
    Ok(summary)
}

/// Least-squares slope of RSS (KiB) over sessions; `None` with fewer than two sizes or no RSS.
fn slope(points: &[serde_json::Value]) -> Option<f64> {
    let xy: Vec<(f64, f64)> =
        points.iter().filter_map(|p| Some((p["sessions"].as_f64()?, p["rss_kib"].as_f64()?))).collect();
    let n = xy.len() as f64;
    if xy.len() < 2 {
        return None;
    }
    let (mx, my) = (xy.iter().map(|p| p.0).sum::<f64>() / n, xy.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (sxx > 0.0).then(|| xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn slope_fits_a_line() {
        let pts: Vec<_> = [(1000, 20_000), (2000, 30_000), (4000, 50_000)]
            .iter()
            .map(|(s, r)| serde_json::json!({"sessions": s, "rss_kib": r}))
            .collect();
        assert!((super::slope(&pts).unwrap_or_default() - 10.0).abs() < 1e-9);
    }
}
