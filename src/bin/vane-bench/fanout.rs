//! `fanout`: N client sessions with distinct users, M flag changes through the management API; for every
//! (change, session) pair, the time from sending the REST call to the session receiving its re-evaluated flag.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::admin::Admin;
use crate::common::{Common, bar};
use crate::fixtures;
use crate::hist::Hist;
use crate::net::Dialer;
use crate::sdk::{self, Kind};
use crate::server::Sampler;
use crate::summary::Summary;

/// Options of `vane-bench fanout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Client sessions to open.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Flag changes to measure.
    #[arg(long, default_value_t = 20)]
    pub changes: usize,
    /// Connections opened concurrently.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

const FLAG: &str = "toggle";
/// Longest wait for every session to receive one change.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

/// Opens one session, syncs user `i`, then forwards the arrival time of each later push to `arrivals`.
async fn session(
    dialer: Arc<Dialer>,
    secret: String,
    i: usize,
    arrivals: mpsc::UnboundedSender<Instant>,
) -> anyhow::Result<()> {
    let mut ws = sdk::open(&dialer, Kind::Client, &secret, i).await?;
    sdk::sync(&mut ws, Kind::Client, i).await?;
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let push = matches!(&msg, Message::Text(t) if sdk::message_type(t) == Some("data-sync"));
            if push && arrivals.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = admin.create_env("fanout").await?;
    let flag_path = format!("/environments/{}/feature-flags/{FLAG}", env.id);
    admin.put_flags(&env, vec![(FLAG.into(), fixtures::toggle(true))], 1).await?;
    let dialer = Arc::new(Dialer::new(&common.url, common.source_addrs)?);
    let mut summary = Summary::new("fanout", json!({"sessions": args.sessions, "changes": args.changes}));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let progress = bar(args.sessions as u64, "connect");
    let connect_started = Instant::now();
    let opened: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..args.sessions)
        .map(|i| session(dialer.clone(), env.client.clone(), i, tx.clone()))
        .buffer_unordered(args.connect_concurrency.max(1))
        .inspect(|_| progress.inc(1))
        .collect()
        .await;
    drop(tx);
    progress.finish_and_clear();
    let sessions = opened.iter().filter(|r| r.is_ok()).count();
    if let Some(Err(e)) = opened.iter().find(|r| r.is_err()) {
        eprintln!("some sessions failed, first: {e:#}");
    }
    summary.extra.insert("connect_and_sync_all_s".into(), json!(connect_started.elapsed().as_secs_f64()));

    let sampler = Sampler::start(common.server_pid);
    let started = Instant::now();
    let mut latency = Hist::default();
    for change in 0..args.changes {
        let sent = Instant::now();
        admin.call(reqwest::Method::PATCH, &flag_path, Some(json!({"isEnabled": change % 2 == 1}))).await?;
        let mut got = 0;
        while got < sessions {
            match tokio::time::timeout_at((sent + CHANGE_DEADLINE).into(), rx.recv()).await {
                Ok(Some(at)) => {
                    latency.record(at.saturating_duration_since(sent));
                    got += 1;
                }
                _ => break,
            }
        }
        summary.count("lost", (sessions - got) as u64);
    }
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.server = sampler.map(Sampler::finish);
    summary.count("sessions", sessions as u64);
    summary.count("failed", (args.sessions - sessions) as u64);
    summary.count("changes", args.changes as u64);
    summary.count("deliveries", latency.len());
    summary.count("lost", 0);
    summary.latency("change_to_receipt", &latency);
    admin.delete_env(&env).await;
    Ok(summary)
}
