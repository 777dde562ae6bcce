//! Keep-alive HTTP workers for the request/response scenarios (ingest, polling): `concurrency` clients, each on
//! its own loopback source address, take request numbers from a shared counter until the range is done.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;

use crate::hist::Hist;
use crate::net::Dialer;

/// What one request achieved.
pub struct Outcome {
    /// A 2xx with the expected body.
    pub ok: bool,
    /// Body bytes received.
    pub bytes: u64,
}

/// The sum over all workers.
#[derive(Default)]
pub struct Totals {
    /// Latency of the successful requests.
    pub latency: Hist,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub failed: u64,
    /// Body bytes received.
    pub bytes: u64,
}

/// Runs `request(client, n)` for every `n` in `range` over `concurrency` workers.
pub async fn drive<F, Fut>(
    dialer: &Dialer,
    concurrency: usize,
    range: Range<usize>,
    progress: &ProgressBar,
    request: F,
) -> anyhow::Result<Totals>
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let next = Arc::new(AtomicUsize::new(range.start));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..concurrency.max(1) {
        let http = reqwest::Client::builder().local_address(dialer.source(i)).build()?;
        let (next, request, end, progress) = (next.clone(), request.clone(), range.end, progress.clone());
        tasks.spawn(async move {
            let mut t = Totals::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= end {
                    return t;
                }
                let t0 = Instant::now();
                let out = request(http.clone(), n).await;
                if out.ok {
                    t.latency.record(t0.elapsed());
                    (t.ok, t.bytes) = (t.ok + 1, t.bytes + out.bytes);
                } else {
                    t.failed += 1;
                }
                progress.inc(1);
            }
        });
    }
    let mut totals = Totals::default();
    while let Some(part) = tasks.join_next().await {
        let part = part?;
        totals.latency.merge(&part.latency.summary());
        (totals.ok, totals.failed, totals.bytes) =
            (totals.ok + part.ok, totals.failed + part.failed, totals.bytes + part.bytes);
    }
    Ok(totals)
}
