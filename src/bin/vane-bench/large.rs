//! `large`: a 3,000-flag environment (2,500 string flags, 500 JSON flags with 2 KiB variations: a ~5 MB server
//! full sync). Opens `--sessions` server sockets, then has all of them send `data-sync` at once (a reconnect storm
//! after a restart) and counts the full syncs that complete and the server's RSS peak; then times client syncs of
//! the whole environment for one user at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::admin::Admin;
use crate::common::{Common, bar};
use crate::fixtures;
use crate::hist::Hist;
use crate::net::{Dialer, Ws};
use crate::raw;
use crate::sdk::{self, Kind};
use crate::server::Sampler;
use crate::summary::Summary;

/// Options of `vane-bench large`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// String flags.
    #[arg(long, default_value_t = 2500)]
    pub string_flags: usize,
    /// JSON flags.
    #[arg(long, default_value_t = 500)]
    pub json_flags: usize,
    /// Size of each JSON variation, bytes.
    #[arg(long, default_value_t = 2048)]
    pub json_bytes: usize,
    /// Server sessions syncing at once.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Client full syncs timed one after the other.
    #[arg(long, default_value_t = 50)]
    pub client_syncs: usize,
    /// Connections opened at once before the storm.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

/// Sends `data-sync` and reads the reply off the raw socket; returns the reply's size.
async fn sync_raw(mut ws: Ws, kind: Kind, i: usize) -> anyhow::Result<usize> {
    ws.send(Message::text(sdk::data_sync(kind, i))).await?;
    let reply = tokio::time::timeout(sdk::REPLY_TIMEOUT, raw::read_message(ws.get_mut())).await??;
    if sdk::message_type(&String::from_utf8_lossy(&reply.head)) != Some("data-sync") {
        bail!("unexpected reply {:?}", String::from_utf8_lossy(&reply.head));
    }
    Ok(reply.len)
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = admin.create_env("large").await?;
    let flags = fixtures::large_flags(args.string_flags, args.json_flags, args.json_bytes);
    let progress = bar(flags.len() as u64, "flags");
    admin.put_flags(&env, flags, 8).await?;
    progress.finish_and_clear();
    let dialer = Arc::new(Dialer::new(&common.url, common.source_addrs)?);
    let params = json!({"string_flags": args.string_flags, "json_flags": args.json_flags, "sessions": args.sessions});
    let mut summary = Summary::new("large", params);

    // Warm-up: the node loads the environment and serializes its full sync once.
    let frame = sync_raw(sdk::open(&dialer, Kind::Server, &env.server, 0).await?, Kind::Server, 0).await?;
    summary.extra.insert("server_full_sync_bytes".into(), json!(frame));

    let sockets: Vec<anyhow::Result<Ws>> = futures_util::stream::iter(0..args.sessions)
        .map(|i| {
            let (dialer, secret) = (dialer.clone(), env.server.clone());
            async move { sdk::open(&dialer, Kind::Server, &secret, i).await }
        })
        .buffer_unordered(args.connect_concurrency.max(1))
        .collect()
        .await;
    let progress = bar(args.sessions as u64, "full syncs");
    let sampler = Sampler::start(common.server_pid);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        match ws {
            Ok(ws) => drop(tasks.spawn(async move { (Instant::now(), sync_raw(ws, Kind::Server, i).await) })),
            Err(e) => {
                eprintln!("connect failed: {e:#}");
                summary.count("failed", 1);
            }
        }
    }
    let mut latency = Hist::default();
    while let Some(joined) = tasks.join_next().await {
        progress.inc(1);
        match joined {
            Ok((t0, Ok(bytes))) => {
                latency.record(t0.elapsed());
                summary.count("completed", 1);
                summary.count("bytes", bytes as u64);
                summary.count("truncated", u64::from(bytes != frame));
            }
            Ok((_, Err(e))) => {
                eprintln!("full sync failed: {e:#}");
                summary.count("failed", 1);
            }
            Err(e) => bail!("task: {e}"),
        }
    }
    progress.finish_and_clear();
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.server = sampler.map(Sampler::finish);
    for key in ["completed", "failed", "truncated", "bytes"] {
        summary.count(key, 0);
    }
    summary.count("attempted", args.sessions as u64);
    summary.rate_of("completed");
    summary.latency("storm_full_sync", &latency);
    let client = client_syncs(&dialer, &env.client, args.client_syncs, &mut summary).await?;
    summary.latency("client_sync", &client);
    admin.delete_env(&env).await;
    Ok(summary)
}

/// Times `n` client data-syncs (distinct users) on one socket, one after the other, as `identify` does.
async fn client_syncs(dialer: &Dialer, secret: &str, n: usize, summary: &mut Summary) -> anyhow::Result<Hist> {
    let mut ws = sdk::open(dialer, Kind::Client, secret, 0).await?;
    let mut hist = Hist::default();
    for i in 0..n {
        let t0 = Instant::now();
        ws.send(Message::text(sdk::data_sync(Kind::Client, i))).await?;
        let reply = tokio::time::timeout(sdk::REPLY_TIMEOUT, raw::read_message(ws.get_mut())).await??;
        hist.record(t0.elapsed());
        summary.extra.insert("client_full_sync_bytes".into(), json!(reply.len));
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
    let _ = ws.next().await;
    Ok(hist)
}
