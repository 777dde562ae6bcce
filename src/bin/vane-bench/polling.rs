//! `polling`: `GET /api/public/sdk/server/latest-all` (what polling server SDKs and edge proxies call) from
//! `--concurrency` keep-alive clients; requests per second and latency, bodies checked non-empty.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::admin::Admin;
use crate::common::{Common, bar};
use crate::http::{Outcome, drive};
use crate::net::Dialer;
use crate::server::Sampler;
use crate::storm::small_env;
use crate::summary::Summary;

/// Options of `vane-bench polling`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Requests in total (split over `--procs`).
    #[arg(long, default_value_t = 200_000)]
    pub requests: usize,
    /// Concurrent keep-alive clients (per process).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// One `latest-all` request; a success needs a non-empty body.
async fn request(http: reqwest::Client, url: Arc<str>, secret: Arc<str>) -> Outcome {
    let res = http.get(&*url).header("authorization", &*secret).send().await;
    match res {
        Ok(r) if r.status().is_success() => match r.bytes().await {
            Ok(b) if !b.is_empty() => Outcome { ok: true, bytes: b.len() as u64 },
            _ => Outcome { ok: false, bytes: 0 },
        },
        _ => Outcome { ok: false, bytes: 0 },
    }
}

/// Runs the scenario.
pub async fn run(common: &Common, args: &Args) -> anyhow::Result<Summary> {
    let admin = Admin::new(&common.url, &common.admin_token);
    let env = small_env(&admin, "polling").await?;
    let dialer = Dialer::new(&common.url, common.source_addrs)?;
    let (count, _) = common.share(args.requests);
    let url = format!("{}/api/public/sdk/server/latest-all", common.url.trim_end_matches('/'));
    let mut summary = Summary::new("polling", json!({"requests": args.requests, "concurrency": args.concurrency}));
    let progress = bar(count as u64, "requests");
    let sampler = Sampler::start(common.server_pid);
    let started = Instant::now();
    let (url, secret): (Arc<str>, Arc<str>) = (url.into(), env.server.clone().into());
    let totals = drive(&dialer, args.concurrency, 0..count, &progress, move |http, _| {
        request(http, url.clone(), secret.clone())
    })
    .await?;
    summary.count("ok", totals.ok);
    summary.count("failed", totals.failed);
    summary.count("body_bytes", totals.bytes);
    summary.elapsed_s = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    summary.server = sampler.map(Sampler::finish);
    summary.count("requests", count as u64);
    summary.rate_of("ok");
    summary.latency("latest_all", &totals.latency);
    admin.delete_env(&env).await;
    Ok(summary)
}
