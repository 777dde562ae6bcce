//! `vane-bench` run against a real `vane` process with tiny sizes, one test per scenario: proves the tool still
//! works end to end and that its JSON summary is complete (everything counted, nothing lost). No timing is asserted:
//! the numbers belong in BENCHMARKS.md, measured on a quiet machine.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;
use crate::helpers::vhost::TestVhost;

/// 40 characters: admin tokens must be long.
const ADMIN_TOKEN: &str = "bench-tool-test-admin-token-0123456789ab";

/// Starts a node in `dir` with the bench admin token and `extra` settings; returns it and its base URL.
fn node(dir: &Path, extra: &[(&str, &str)]) -> (VaneProcess, String) {
    let mut env = vec![("VANE__ADMIN__TOKEN", ADMIN_TOKEN), ("VANE__DEMO__ENABLED", "false")];
    env.extend_from_slice(extra);
    let mut node = VaneProcess::start(dir, &env);
    let url = format!("http://127.0.0.1:{}", node.port_from_banner());
    (node, url)
}

/// Runs `vane-bench <args> --url … --json …` and returns the parsed summary.
fn bench(node: &VaneProcess, url: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("summary.json");
    let out = Command::new(env!("CARGO_BIN_EXE_vane-bench"))
        .args(args)
        .args(["--url", url, "--admin-token", ADMIN_TOKEN, "--max-seconds", "120", "--source-addrs", "4"])
        .args(["--server-pid", &node.pid().to_string(), "--json"])
        .arg(&json)
        .output()
        .expect("vane-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "vane-bench {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&std::fs::read(&json).expect("summary written")).expect("summary is JSON")
}

fn count(summary: &Value, key: &str) -> u64 {
    summary["counts"][key].as_u64().unwrap_or_else(|| panic!("no count {key} in {summary}"))
}

fn standalone() -> (tempfile::TempDir, VaneProcess, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, url) = node(dir.path(), &[]);
    (dir, node, url)
}

#[test]
fn storm_over_two_processes_completes_every_connection() {
    let (_dir, node, url) = standalone();
    let s = bench(&node, &url, &["storm", "--connections", "40", "--concurrency", "8", "--procs", "2"]);
    assert_eq!((count(&s, "completed"), count(&s, "failed"), s["procs"].as_u64()), (40, 0, Some(2)), "{s}");
    assert_eq!(s["latencies"]["connect_to_full_sync"]["count"], 40, "{s}");
    assert!(s["server"]["end"]["rss_kib"].as_u64().is_some_and(|r| r > 0), "server RSS read: {s}");
}

#[test]
fn held_sessions_have_every_ping_answered_and_report_a_slope() {
    let (_dir, node, url) = standalone();
    let args = ["held", "--sizes", "10,30", "--ping-every-ms", "100", "--hold-seconds", "1", "--settle-ms", "100"];
    let s = bench(&node, &url, &args);
    assert_eq!((count(&s, "held"), count(&s, "failed"), count(&s, "dropped_by_server")), (30, 0, 0), "{s}");
    assert!(count(&s, "pings") >= 30, "every session pinged at least once: {s}");
    assert_eq!(count(&s, "pongs"), count(&s, "pings"), "{s}");
    assert!(s["extra"]["kib_per_session"].is_number(), "{s}");
}

#[test]
fn fanout_delivers_every_change_to_every_session() {
    let (_dir, node, url) = standalone();
    let s = bench(&node, &url, &["fanout", "--sessions", "20", "--changes", "3"]);
    assert_eq!((count(&s, "sessions"), count(&s, "deliveries"), count(&s, "lost")), (20, 60, 0), "{s}");
}

#[test]
fn large_environment_full_syncs_all_complete_untruncated() {
    let (_dir, node, url) = standalone();
    let args = ["large", "--string-flags", "40", "--json-flags", "10", "--sessions", "12", "--client-syncs", "3"];
    let s = bench(&node, &url, &args);
    assert_eq!((count(&s, "completed"), count(&s, "failed"), count(&s, "truncated")), (12, 0, 0), "{s}");
    let frame = s["extra"]["server_full_sync_bytes"].as_u64().expect("frame size");
    assert!(frame > 10 * 2048, "10 JSON flags of 2 KiB variations: {s}");
    assert_eq!(count(&s, "bytes"), 12 * frame, "{s}");
    assert_eq!(s["latencies"]["client_sync"]["count"], 3, "{s}");
}

#[test]
fn polling_answers_every_request_with_a_body() {
    let (_dir, node, url) = standalone();
    let s = bench(&node, &url, &["polling", "--requests", "200", "--concurrency", "4", "--procs", "2"]);
    assert_eq!((count(&s, "ok"), count(&s, "failed")), (200, 0), "{s}");
    assert!(count(&s, "body_bytes") > 200 * 100, "{s}");
}

#[tokio::test]
async fn ingest_stores_every_accepted_event_through_the_broker() {
    let (db, vhost) = (TestDb::postgres().await, TestVhost::create());
    let dir = tempfile::tempdir().expect("tempdir");
    let amqp = vhost.url();
    let (node, url) = node(dir.path(), &[("VANE__DATABASE__URL", &db.url), ("VANE__BUS__AMQP_URL", &amqp)]);
    let db_url = db.url.clone();
    let s = tokio::task::spawn_blocking(move || {
        let s = bench(&node, &url, &["ingest", "--events", "2000", "--concurrency", "4", "--database-url", &db_url]);
        drop(node);
        s
    })
    .await
    .expect("bench ran");
    assert_eq!((count(&s, "accepted"), count(&s, "stored"), count(&s, "lost")), (2000, 2000, 0), "{s}");
    db.cleanup().await;
    vhost.delete();
}
