//! `ingest`: SDK track calls (`POST /api/public/insight/track`, 50 users × 2 flag evaluations per body, as SDKs
//! batch them) from `--concurrency` keep-alive clients, then the `events` rows of the run's environment counted in
//! Postgres until they match what was accepted (a 200 means stored: zero loss is the requirement).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

use crate::admin::Admin;
use crate::common::{Common, bar};
use crate::http::{Outcome, drive};
use crate::net::Dialer;
use crate::server::Sampler;
use crate::summary::Summary;

/// Options of `vane-bench ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Flag-evaluation events to send (split over `--procs`).
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// The node's Postgres, where the events are counted.
    #[arg(long, env = "VANE__DATABASE__URL")]
    pub database_url: String,
    /// Longest wait for the stored count to reach the accepted count, seconds.
    #[arg(long, default_value_t = 120)]
    pub drain_seconds: u64,
}

/// Users per track body; each carries two evaluations.
const USERS_PER_BODY: usize = 50;
const EVENTS_PER_USER: usize = 2;
const EVENTS_PER_BODY: usize = USERS_PER_BODY * EVENTS_PER_USER;

/// Track body `n`: every event distinct (events are deduplicated by content).
fn body(n: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..USERS_PER_BODY)
        .map(|u| {
            let at = 1_719_750_000_000i64 + (n * USERS_PER_BODY + u) as i64;
            let evals: Vec<Value> = (0..EVENTS_PER_USER)
                .map(|f| {
                    json!({"featureFlagKey": format!("flag-{f}"), "variation": {"id": "v0", "value": "true"},
                                "sendToExperiment": true, "timestamp": at})
                })
                .collect();
            json!({"user": {"keyId": format!("user-{}", (n * USERS_PER_BODY + u) % 5000), "name": "bench",
                            "customizedProperties": [{"name": "plan", "value": "pro"}]},
                   "variations": evals, "metrics": []})
        })
        .collect();
    serde_json::to_vec(&items).unwrap_or_default()
}

/// Posts track body `n`.
async fn request(http: reqwest::Client, url: Arc<str>, secret: Arc<str>, n: usize) -> Outcome {
    let req = http.post(&*url).header("authorization", &*secret).header("content-type", "application/json");
    let ok = req.body(body(n)).send().await.is_ok_and(|r| r.status().is_success());
    Outcome { ok, bytes: 0 }
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = admin.create_env("ingest").await?;
    let db = Database::connect(&args.database_url).await.context("connecting to the node's database")?;
    let dialer = Dialer::new(&common.url, common.source_addrs)?;
    let (events, first) = common.share(args.events);
    let (start, end) = (first / EVENTS_PER_BODY, (first + events) / EVENTS_PER_BODY);
    let mut summary = Summary::new("ingest", json!({"events": args.events, "concurrency": args.concurrency}));
    let url = format!("{}/api/public/insight/track", common.url.trim_end_matches('/'));
    let sampler = Sampler::start(common.server_pid);
    let progress = bar((end - start) as u64, "track");
    let started = Instant::now();
    let (url, secret): (Arc<str>, Arc<str>) = (url.into(), env.server.clone().into());
    let totals = drive(&dialer, args.concurrency, start..end, &progress, move |http, n| {
        request(http, url.clone(), secret.clone(), n)
    })
    .await?;
    let (accepted, failed) = (totals.ok * EVENTS_PER_BODY as u64, totals.failed * EVENTS_PER_BODY as u64);
    progress.finish_and_clear();
    let intake_s = started.elapsed().as_secs_f64();
    let stored = wait_stored(&db, &env.id, accepted, Duration::from_secs(args.drain_seconds)).await?;
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.server = sampler.map(Sampler::finish);
    summary.count("accepted", accepted);
    summary.count("failed", failed);
    summary.count("stored", stored);
    summary.count("lost", accepted.saturating_sub(stored));
    summary.rate_of("stored");
    summary.rates.insert("accepted_intake".into(), accepted as f64 / intake_s.max(1e-9));
    summary.latency("track", &totals.latency);
    admin.delete_env(&env).await;
    Ok(summary)
}

/// Counts the environment's `events` rows until they reach `want` or the deadline passes.
async fn wait_stored(db: &sea_orm::DatabaseConnection, env: &str, want: u64, max: Duration) -> anyhow::Result<u64> {
    let env: uuid::Uuid = env.parse()?;
    let deadline = Instant::now() + max;
    loop {
        let sql = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM events WHERE env_id = $1",
            [env.into()],
        );
        let row = db.query_one_raw(sql).await?.context("count row")?;
        let n = row.try_get::<i64>("", "n")? as u64;
        if n >= want || Instant::now() > deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
