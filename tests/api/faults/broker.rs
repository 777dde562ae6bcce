//! The broker closes this test's connections (only those of its vhost) in the middle of a burst of 100 changes:
//! every connected session, real node SDKs and protocol clients on both nodes, ends on the database's state within
//! 5 s of the broker connections' recovery.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::cluster::{Cluster, string_flag};
use crate::helpers::node_sdk::FlagWatcher;
use crate::helpers::sdk::WsClient;

/// The convergence bound after recovery.
const CONVERGE: Duration = Duration::from_secs(5);
const CHANGES: usize = 100;

/// Reads pushes until one carries flag `f` with `value`, until `deadline`.
async fn converge(ws: &mut WsClient, value: &str, deadline: Instant) {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame: Value = tokio::time::timeout(left, ws.next_json()).await.expect("converged in time");
        let flags = frame["data"]["featureFlags"].as_array().cloned().unwrap_or_default();
        if flags.iter().any(|f| f["key"] == "f" && f["variations"][0]["value"] == value) {
            return;
        }
    }
}

/// Reads the SDK's reported values until `value`, until `deadline`.
fn converge_sdk(watcher: &FlagWatcher, value: &str, deadline: Instant) {
    while watcher.next_value(deadline.saturating_duration_since(Instant::now())) != value {}
}

#[tokio::test]
async fn sessions_on_both_nodes_end_on_the_database_state_after_the_broker_drops_connections_mid_burst() {
    // Arrange: two nodes; on each a real node SDK and a protocol client on the same flag.
    let cluster = Cluster::start(2).await;
    let (env_id, server, _) = cluster.env("prod").await;
    let flag_path = format!("/environments/{env_id}/feature-flags/f");
    cluster.admin(0, Method::PUT, &flag_path, Some(string_flag("start"))).await;
    let watchers = [0, 1].map(|node| FlagWatcher::start(cluster.base(node), &server, "f", "u1"));
    for w in &watchers {
        assert_eq!(w.next_value(Duration::from_secs(20)), "start");
    }
    let mut clients = Vec::new();
    for node in [0, 1] {
        let mut ws = WsClient::open(cluster.base(node), "server", &server).await;
        ws.data_sync(json!({"timestamp": 0})).await;
        ws.next_json().await;
        clients.push(ws);
    }

    // Act: 100 changes through node A; the broker closes every connection of the vhost twice meanwhile.
    let mut closed = 0;
    for i in 0..CHANGES {
        if i == CHANGES / 3 || i == 2 * CHANGES / 3 {
            closed += cluster.vhost.close_connections();
        }
        cluster.admin(0, Method::PUT, &flag_path, Some(string_flag(&format!("v{i}")))).await;
    }
    assert!(closed >= 4, "both nodes' connections were closed twice ({closed})");

    // Assert: once the broker connections are back, everyone holds the last change within 5 s.
    cluster.wait_healthy(Duration::from_secs(30)).await;
    let recovered = Instant::now();
    let last = format!("v{}", CHANGES - 1);
    let deadline = recovered + CONVERGE;
    for ws in &mut clients {
        converge(ws, &last, deadline).await;
    }
    for w in &watchers {
        converge_sdk(w, &last, deadline);
    }
    println!("converged {:?} after the broker connections recovered", recovered.elapsed());
    drop(watchers);
    cluster.cleanup().await;
}
