//! The fan-out scenario: N client sessions, M flag changes, latency from REST call to receipt on every session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use vane_schema::secret::ConnectionToken;

use super::stats::{Latencies, ms};

/// Options of `vane-load fanout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the node (http://127.0.0.1:5100).
    #[arg(long)]
    pub url: String,
    /// The node's admin token.
    #[arg(long)]
    pub admin_token: String,
    /// Client sessions to open.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Flag changes to measure.
    #[arg(long, default_value_t = 20)]
    pub changes: usize,
    /// Connections opened concurrently.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Hard limit on the whole run.
    #[arg(long, default_value_t = 600)]
    pub max_seconds: u64,
}

const FLAG: &str = "load-flag";
/// Longest wait for every session to receive one change.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok(body)
    }
}

fn flag(enabled: bool) -> Value {
    json!({"name": "load", "variationType": "boolean", "isEnabled": enabled, "disabledVariationId": "off",
           "variations": [{"id": "on", "value": "true"}, {"id": "off", "value": "false"}],
           "fallthrough": {"includedInExpt": true, "variations": [{"id": "on", "rollout": [0, 1], "exptRollout": 1}]}})
}

/// Opens one session, syncs user `i`, then forwards the arrival time of each push to `arrivals`.
async fn session(
    ws_base: String,
    secret: String,
    i: usize,
    arrivals: mpsc::UnboundedSender<Instant>,
) -> anyhow::Result<()> {
    let token = ConnectionToken::build(&secret, chrono::Utc::now().timestamp_millis(), 2 + i % 40);
    let (mut ws, _) = connect_async(format!("{ws_base}/streaming?type=client&token={token}")).await?;
    let sync = json!({"messageType": "data-sync", "data": {"timestamp": 0, "user": {"keyId": format!("user-{i}")}}});
    ws.send(Message::text(sync.to_string())).await?;
    ws.next().await.context("closed before the full sync")??;
    arrivals.send(Instant::now())?; // "synced"
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if matches!(msg, Message::Text(_)) && arrivals.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Runs the scenario and returns a Markdown report.
pub async fn run(args: &Args) -> anyhow::Result<String> {
    let admin = Admin { http: reqwest::Client::new(), base: args.url.clone(), token: args.admin_token.clone() };
    let key = format!("load-{}", std::process::id());
    let env = admin.call(reqwest::Method::POST, "/environments", json!({"key": key})).await?;
    let env_id = env["id"].as_str().context("environment id")?.to_owned();
    let secret =
        env["secrets"].as_array().and_then(|s| s.iter().find(|s| s["type"] == "client")).context("secret")?["value"]
            .as_str()
            .context("secret value")?
            .to_owned();
    let flag_path = format!("/environments/{env_id}/feature-flags/{FLAG}");
    admin.call(reqwest::Method::PUT, &flag_path, flag(true)).await?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let ws_base = args.url.replacen("http", "ws", 1);
    let opened = Arc::new(AtomicU64::new(0));
    futures_util::stream::iter(0..args.sessions)
        .map(|i| {
            let (ws_base, secret, tx, opened) = (ws_base.clone(), secret.clone(), tx.clone(), opened.clone());
            async move { session(ws_base, secret, i, tx).await.map(|()| opened.fetch_add(1, Ordering::Relaxed)) }
        })
        .buffer_unordered(args.connect_concurrency)
        .for_each(|r| async move {
            if let Err(e) = r {
                eprintln!("session failed: {e:#}");
            }
        })
        .await;
    drop(tx);
    let sessions = opened.load(Ordering::Relaxed) as usize;
    for _ in 0..sessions {
        rx.recv().await.context("sync")?;
    }
    let connect_time = started.elapsed();

    let mut samples = Vec::with_capacity(sessions * args.changes);
    let mut missing = 0;
    for change in 0..args.changes {
        let sent = Instant::now();
        admin.call(reqwest::Method::PATCH, &flag_path, json!({"isEnabled": change % 2 == 1})).await?;
        let mut got = 0;
        while got < sessions {
            match tokio::time::timeout_at((sent + CHANGE_DEADLINE).into(), rx.recv()).await {
                Ok(Some(at)) => {
                    samples.push(at.saturating_duration_since(sent));
                    got += 1;
                }
                _ => break,
            }
        }
        missing += sessions - got;
    }
    admin.call(reqwest::Method::DELETE, &format!("/environments/{env_id}"), Value::Null).await.ok();
    let lat = Latencies::new(samples);
    Ok(format!(
        "| sessions | changes | deliveries | missing | p50 ms | p99 ms | max ms | connect+sync all s |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {sessions} | {} | {} | {missing} | {} | {} | {} | {:.1} |",
        args.changes,
        lat.len(),
        ms(lat.percentile(50.0)),
        ms(lat.percentile(99.0)),
        ms(lat.percentile(100.0)),
        connect_time.as_secs_f64()
    ))
}
