//! `storm`: a connection storm. Each connection opens the streaming socket as a server SDK, sends `data-sync`,
//! waits for the full reply and closes; `--concurrency` connections are in flight at any time. Measures the
//! completed connections per second and the latency from TCP connect to the full reply.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::json;

use crate::admin::{Admin, Env};
use crate::common::{Common, bar};
use crate::fixtures;
use crate::hist::Hist;
use crate::net::Dialer;
use crate::sdk::{self, Kind};
use crate::server::Sampler;
use crate::summary::Summary;

/// Options of `vane-bench storm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connections to make in total (split over `--procs`).
    #[arg(long, default_value_t = 15_000)]
    pub connections: usize,
    /// Connections in flight at once (per process).
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
}

/// Prepares FeatBit's benchmark data set (5 flags, 2 segments) in a new environment.
pub async fn small_env(admin: &Admin, scenario: &str) -> anyhow::Result<Env> {
    let env = admin.create_env(scenario).await?;
    let segments = [uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string()];
    for (i, id) in segments.iter().enumerate() {
        admin.put_segment(&env, id, fixtures::segment(i)).await?;
    }
    admin.put_flags(&env, fixtures::small_flags(&segments), 4).await?;
    Ok(env)
}

/// One connection: connect, sync, close. Returns (connect, connect → full reply).
async fn one(dialer: &Dialer, secret: &str, i: usize) -> anyhow::Result<(std::time::Duration, std::time::Duration)> {
    let start = Instant::now();
    let mut ws = sdk::open(dialer, Kind::Server, secret, i).await?;
    let connected = start.elapsed();
    sdk::sync(&mut ws, Kind::Server, i).await?;
    let synced = start.elapsed();
    let _ = ws.close(None).await;
    // Complete the close handshake: read until the server's close frame, then drop the socket. Waiting for the
    // server's FIN instead would cost actix's `client_disconnect_timeout` (1 s) per connection: the server waits
    // for the client to close its side first, so a storm of 50 in flight would run at 50/s.
    let _ = tokio::time::timeout(sdk::REPLY_TIMEOUT, async {
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
    Ok((connected, synced))
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = small_env(&admin, "storm").await?;
    let dialer = Arc::new(Dialer::new(&common.url, common.source_addrs)?);
    let (count, first) = common.share(args.connections);
    let mut summary = Summary::new("storm", json!({"connections": args.connections, "concurrency": args.concurrency}));
    let (mut connect, mut full) = (Hist::default(), Hist::default());
    let progress = bar(count as u64, "storm");
    let sampler = Sampler::start(common.server_pid);
    let started = Instant::now();
    let mut results = futures_util::stream::iter(first..first + count)
        .map(|i| {
            let (dialer, secret) = (dialer.clone(), env.server.clone());
            async move { one(&dialer, &secret, i).await }
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some(r) = results.next().await {
        progress.inc(1);
        match r {
            Ok((c, f)) => {
                connect.record(c);
                full.record(f);
                summary.count("completed", 1);
            }
            Err(e) => {
                if summary.counts.get("failed").copied().unwrap_or(0) < 5 {
                    eprintln!("connection failed: {e:#}");
                }
                summary.count("failed", 1);
            }
        }
    }
    summary.elapsed_s = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    summary.server = sampler.map(Sampler::finish);
    summary.count("attempted", count as u64);
    summary.count("completed", 0);
    summary.count("failed", 0);
    summary.rate_of("completed");
    summary.latency("connect", &connect);
    summary.latency("connect_to_full_sync", &full);
    admin.delete_env(&env).await;
    Ok(summary)
}
