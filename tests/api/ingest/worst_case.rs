//! The worst **accepted** request of each public endpoint, measured on a real `vane` process (ignored by default;
//! numbers go to BENCHMARKS.md):
//!
//! ```text
//! cargo test --release --test api worst_case_requests -- --ignored --nocapture
//! ```
//!
//! The process runs embedded (SQLite, in-process bus) with 500 flags, each with a rule on one of 100 custom
//! properties. Each request is the largest the default `[limits]` let through: maximal users (512-character key,
//! 256-character name, 100 properties with 1,024-character values; 64 KiB frames cap the streaming one), a track
//! body grown until the expansion budget refuses it, an evaluate filter listing 20,000 keys. Reported per request:
//! CPU time of the process (`/proc/PID/stat`, averaged over the runs), wall time, and peak RSS above the resident
//! size before the runs (the peak is reset through `/proc/PID/clear_refs` before each endpoint).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vane_actors::ingest::Limits;
use vane_actors::ingest::track_body;

use crate::helpers::process::VaneProcess;
use crate::helpers::sdk::WsClient;
use crate::helpers::seed;

const TOKEN: &str = "worst-case-admin-token-0123456789abcdef";
const RUNS: usize = 30;
const FLAGS: usize = 500;

/// A user at every default limit; `value_chars` sizes the property values.
fn user(value_chars: usize, properties: usize) -> Value {
    let props: Vec<Value> =
        (0..properties).map(|i| json!({"name": format!("p{i}"), "value": "v".repeat(value_chars)})).collect();
    json!({"keyId": "k".repeat(512), "name": "n".repeat(256), "customizedProperties": props})
}

/// The largest track body the default limits accept: maximal users and event fields, as many events as the
/// expansion budget allows.
fn worst_track_body() -> String {
    let field = "f".repeat(512);
    let event = json!({"featureFlagKey": field, "variation": {"id": field, "value": "true"}, "timestamp": 1});
    let body = |events: usize| {
        let item = json!({"user": user(16, 10), "variations": vec![event.clone(); events]});
        json!([item]).to_string()
    };
    let accepted =
        |n: usize| track_body::parse(body(n).as_bytes(), &Limits::default()).is_ok_and(|b| !b.items.is_empty());
    let (mut lo, mut hi) = (1, Limits::default().max_item_events);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if accepted(mid) { lo = mid } else { hi = mid - 1 }
    }
    body(lo)
}

/// CPU ticks (user + system, 1/100 s) of `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    let fields: Vec<&str> = stat.rsplit(')').next().expect("fields").split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// CPU, wall time and peak RSS of a process from a starting point.
struct Probe {
    /// Resident size at the start (the peak is reset to it).
    rss: u64,
    /// CPU ticks at the start.
    ticks: u64,
    /// Wall clock at the start.
    started: Instant,
}

impl Probe {
    /// Resets the process's peak RSS and starts counting.
    fn start(vane: &VaneProcess) -> Self {
        std::fs::write(format!("/proc/{}/clear_refs", vane.pid()), "5").expect("reset the peak RSS");
        Self { rss: vane.memory("VmRSS"), ticks: cpu_ticks(vane.pid()), started: Instant::now() }
    }

    /// Prints the per-request figures of [`RUNS`] requests.
    fn report(self, vane: &VaneProcess, name: &str) {
        let cpu_ms = (cpu_ticks(vane.pid()) - self.ticks) as f64 * 10.0 / RUNS as f64;
        let wall_ms = self.started.elapsed().as_secs_f64() * 1e3 / RUNS as f64;
        let peak = vane.memory("VmHWM").saturating_sub(self.rss) as f64 / f64::from(1 << 20);
        println!("{name:<28} cpu {cpu_ms:>7.2} ms   wall {wall_ms:>7.2} ms   peak RSS +{peak:.2} MiB");
    }
}

/// Runs `request` 3 times to warm up, then [`RUNS`] times measured.
async fn measure<F, Fut>(vane: &VaneProcess, name: &str, mut request: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..3 {
        request().await;
    }
    let probe = Probe::start(vane);
    for _ in 0..RUNS {
        request().await;
    }
    probe.report(vane, name);
}

const ENV: [(&str, &str); 2] = [("VANE__ADMIN__TOKEN", TOKEN), ("VANE__TELEMETRY__FILTER", "error")];

/// First start in `dir`: creates the demo environment, seeds [`FLAGS`] flags, stops; returns the client secret.
async fn seed_once(dir: &std::path::Path, http: &reqwest::Client) -> String {
    let mut vane = VaneProcess::start(dir, &ENV);
    let secret = |line: String| line.rsplit(' ').next().expect("secret").to_owned();
    let server = secret(vane.wait_for_line("server secret", Duration::from_secs(60)));
    let client = secret(vane.wait_for_line("client secret", Duration::from_secs(5)));
    let base = format!("http://127.0.0.1:{}", vane.port_from_banner());
    let env = vane_schema::secret::env_id(&server).expect("FeatBit secret");
    for i in 0..FLAGS {
        let mut flag = serde_json::to_value(seed::bool_flag(env, &format!("flag-{i}"))).expect("json");
        flag["rules"] = json!([{"id": "r", "name": "rule", "includedInExpt": false,
            "variations": [{"id": "v-false", "rollout": [0, 1]}],
            "conditions": [{"property": format!("p{}", i % 100), "op": "Equal", "value": "x"}]}]);
        let put = http.put(format!("{base}/api/v1/environments/{env}/feature-flags/flag-{i}"));
        assert!(put.bearer_auth(TOKEN).json(&flag).send().await.expect("answers").status().is_success());
    }
    assert!(vane.terminate().success());
    client
}

/// A fresh process on the seeded directory (so no endpoint inherits another's freed memory) and its base URL.
fn restart(dir: &std::path::Path) -> (VaneProcess, String) {
    let mut vane = VaneProcess::start(dir, &ENV);
    let base = format!("http://127.0.0.1:{}", vane.port_from_banner());
    (vane, base)
}

/// POSTs `body` to `path` [`RUNS`] times on a fresh process, expecting 200 each time.
async fn post_runs(dir: &std::path::Path, http: &reqwest::Client, secret: &str, name: &str, path: &str, body: String) {
    let (vane, base) = restart(dir);
    measure(&vane, name, || async {
        let res = http.post(format!("{base}{path}")).header("authorization", secret);
        let res = res.header("content-type", "application/json").body(body.clone());
        assert_eq!(res.send().await.expect("answers").status(), 200);
    })
    .await;
}

#[tokio::test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
async fn worst_case_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let client = seed_once(dir.path(), &http).await;

    let track = worst_track_body();
    println!("worst track body: {} bytes", track.len());
    post_runs(dir.path(), &http, &client, "track (worst accepted)", "/api/public/insight/track", track).await;
    let keys: Vec<String> = (0..20_000).map(|i| format!("flag-{i}-{}", "k".repeat(32))).collect();
    let evaluate = json!({"user": user(1_024, 100), "filter": {"keys": keys}}).to_string();
    let path = "/api/public/featureflag/evaluate";
    post_runs(dir.path(), &http, &client, "evaluate (20,000 keys)", path, evaluate).await;
    let evaluate_all = json!({"user": user(1_024, 100)}).to_string();
    post_runs(dir.path(), &http, &client, "evaluate (all flags)", path, evaluate_all).await;
    let path = "/api/public/sdk/client/latest-all";
    post_runs(dir.path(), &http, &client, "client latest-all", path, user(1_024, 100).to_string()).await;

    let (vane, base) = restart(dir.path());
    let mut ws = WsClient::open(&base, "client", &client).await;
    let synced = json!({"timestamp": 0, "user": user(600, 100)});
    assert!(synced.to_string().len() < 65_000, "fits one 64 KiB frame");
    let mut probe = None;
    for run in 0..RUNS + 3 {
        if run == 3 {
            probe = Some(Probe::start(&vane));
        }
        ws.data_sync(synced.clone()).await;
        ws.next_json().await;
    }
    probe.expect("measured").report(&vane, "streaming data-sync");
}
