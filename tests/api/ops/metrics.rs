//! `/metrics` after real SDK traffic: every family the README lists, with values that match the traffic.

use reqwest::Method;
use serde_json::json;

use super::{Node, WAIT, flag};
use crate::helpers::node_sdk::FlagWatcher;
use crate::helpers::sdk::WsClient;
use crate::helpers::wait::eventually;

const RAW_SESSIONS: usize = 4;
const CHANGES: usize = 3;

#[tokio::test]
async fn metrics_after_real_sdk_traffic_match_the_traffic() {
    // Arrange: a node, a flag, a real node SDK and four raw server sessions that completed a full data-sync.
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), &[]);
    let (env_id, secret) = node.env("prod").await;
    let path = format!("/environments/{env_id}/feature-flags/checkout");
    node.admin(Method::PUT, &path, Some(flag(true))).await;
    let watcher = FlagWatcher::start(&node.base, &secret, "checkout", "u1");
    assert_eq!(watcher.next_value(WAIT), "true");
    let mut raw = Vec::new();
    for _ in 0..RAW_SESSIONS {
        let mut ws = WsClient::open(&node.base, "server", &secret).await;
        ws.data_sync(json!({"timestamp": 0})).await;
        ws.next_json().await;
        raw.push(ws);
    }
    let sessions = RAW_SESSIONS + 1;
    let before = node.scrape().await;

    // Act: three changes, each pushed to every session.
    for i in 0..CHANGES {
        node.admin(Method::PATCH, &path, Some(json!({"isEnabled": i % 2 == 1}))).await;
        for ws in &mut raw {
            ws.next_json().await;
        }
    }
    let pushes = (sessions * CHANGES) as f64;
    let grown = |s: &super::Scrape, name: &str| s.sum(name, &[]) - before.sum(name, &[]);
    let after = eventually(WAIT, "every push counted", || async {
        let s = node.scrape().await;
        (grown(&s, "vane_push_frames_total") >= pushes).then_some(s)
    })
    .await;

    // Assert: sessions, pushes, syncs, lag, HTTP by route template, dependencies.
    assert_eq!(after.sum("vane_sessions", &[r#"sdk_type="server""#]), sessions as f64, "{}", after.0);
    assert!(after.sum("vane_session_connects_total", &[r#"sdk_type="server""#]) >= sessions as f64);
    assert_eq!(grown(&after, "vane_push_frames_total"), pushes);
    assert_eq!(grown(&after, "vane_push_duration_seconds_count"), pushes);
    assert!(after.sum("vane_data_sync_duration_seconds_count", &[r#"event_type="full""#]) >= sessions as f64);
    assert!(after.sum("vane_change_lag_seconds_count", &[]) >= CHANGES as f64);
    let patch_route = r#"http_route="/api/v1/environments/{env}/feature-flags/{key}""#;
    let patches =
        after.sum("http_server_request_duration_seconds_count", &[patch_route, r#"http_request_method="PATCH""#]);
    assert_eq!(patches, CHANGES as f64, "{}", after.0);
    assert!(
        after.sum("http_server_request_duration_seconds_count", &[r#"http_route="/streaming""#]) >= sessions as f64
    );
    assert_eq!(after.sum("vane_dependency_up", &[r#"dependency="database""#]), 1.0);
    assert!(after.has("vane_change_last_applied_age_seconds"));
    assert!(!after.0.contains(&secret) && !after.0.contains("token=") && !after.0.contains(&env_id), "no secret or id");

    // A client closing with 1000 is counted by close code.
    let mut first = raw.remove(0);
    first.close().await;
    let closed = eventually(WAIT, "the close counted", || async {
        let s = node.scrape().await;
        (s.sum("vane_session_closes_total", &[r#"close_code="1000""#]) >= 1.0).then_some(s)
    })
    .await;
    assert_eq!(closed.sum("vane_sessions", &[r#"sdk_type="server""#]), (sessions - 1) as f64);

    // Every metric the Grafana dashboard queries is exported once insights were tracked too.
    let track = json!([{"user": {"keyId": "u1", "name": "u1"},
        "variations": [{"featureFlagKey": "checkout", "variation": {"id": "on", "value": "true"},
                        "sendToExperiment": false, "timestamp": 1_719_750_000_000u64}]}]);
    let res = node.http.post(format!("{}/api/public/insight/track", node.base)).header("authorization", &secret);
    assert_eq!(res.json(&track).send().await.expect("answers").status(), 200);
    let wanted = dashboard_metrics();
    let all = eventually(WAIT, "every dashboard metric exported", || async {
        let s = node.scrape().await;
        let missing: Vec<_> = wanted.iter().filter(|m| !s.has(m)).collect();
        if !missing.is_empty() {
            eprintln!("not exported yet: {missing:?}");
        }
        missing.is_empty().then_some(s)
    })
    .await;
    assert!(wanted.len() >= 10, "{wanted:?}");
    assert!(all.sum("vane_ingest_accepted_total", &[r#"kind="event""#]) >= 1.0);
}

/// The metric names the provisioned dashboard queries (`_bucket` series are exported under the same name).
fn dashboard_metrics() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/grafana/dashboards/vane.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    let mut names: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .flat_map(|t| {
            let expr = t["expr"].as_str().unwrap_or_default().to_owned();
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("vane_") || w.starts_with("http_server_"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
