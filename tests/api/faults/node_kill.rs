//! One of two nodes SIGKILLed under 1,000 SDK sessions: a pool of protocol clients (as SDKs do) reconnects to the
//! surviving node and resyncs by patch from the timestamp it held, receiving exactly what changed meanwhile.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::cluster::{Cluster, string_flag};
use crate::helpers::sdk::WsClient;

const SESSIONS: usize = 1_000;
/// Sockets opened at once (connection setup, not the number of sessions).
const PARALLEL: usize = 50;

/// An SDK's view: its socket and the newest `updatedAt` (Unix ms) it holds.
struct Sdk {
    ws: WsClient,
    timestamp: i64,
}

fn newest(frame: &Value) -> i64 {
    let flags = frame["data"]["featureFlags"].as_array().cloned().unwrap_or_default();
    let ms = |f: &Value| chrono::DateTime::parse_from_rfc3339(f["updatedAt"].as_str().unwrap_or_default());
    flags.iter().filter_map(|f| ms(f).ok()).map(|t| t.timestamp_millis()).max().unwrap_or(0)
}

/// Connects and syncs from `timestamp`; returns the client and the sync reply.
async fn sync(base: String, secret: String, timestamp: i64) -> (WsClient, Value) {
    let mut ws = WsClient::open(&base, "server", &secret).await;
    ws.data_sync(json!({"timestamp": timestamp})).await;
    let frame = ws.next_json().await;
    (ws, frame)
}

#[tokio::test]
async fn sessions_of_a_killed_node_reconnect_to_the_other_and_resync_by_patch() {
    // Arrange: two nodes, 20 flags, 1,000 server sessions on node A holding the full state.
    let mut cluster = Cluster::start(2).await;
    let (env_id, server, _) = cluster.env("prod").await;
    for i in 0..20 {
        let path = format!("/environments/{env_id}/feature-flags/f{i}");
        cluster.admin(0, Method::PUT, &path, Some(string_flag("v1"))).await;
    }
    let (a, b) = (cluster.base(0).to_owned(), cluster.base(1).to_owned());
    let connects = (0..SESSIONS).map(|_| sync(a.clone(), server.clone(), 0));
    let mut sdks: Vec<Sdk> = futures_util::stream::iter(connects)
        .buffer_unordered(PARALLEL)
        .map(|(ws, full)| {
            assert_eq!(full["data"]["eventType"], "full");
            assert_eq!(full["data"]["featureFlags"].as_array().map(Vec::len), Some(20));
            Sdk { ws, timestamp: newest(&full) }
        })
        .collect()
        .await;

    // Act: node A is SIGKILLed; a flag changes through node B; every SDK reconnects to B.
    cluster.kill(0);
    for sdk in &mut sdks {
        sdk.ws.expect_gone().await;
    }
    cluster.admin(1, Method::PUT, &format!("/environments/{env_id}/feature-flags/f7"), Some(string_flag("v2"))).await;
    let started = Instant::now();
    let resyncs = sdks.into_iter().map(|sdk| sync(b.clone(), server.clone(), sdk.timestamp));
    let replies: Vec<Value> =
        futures_util::stream::iter(resyncs).buffer_unordered(PARALLEL).map(|(_, patch)| patch).collect().await;
    let took = started.elapsed();

    // Assert: each got a patch with exactly the changed flag.
    assert_eq!(replies.len(), SESSIONS);
    for patch in &replies {
        assert_eq!(patch["data"]["eventType"], "patch", "{patch}");
        let flags = patch["data"]["featureFlags"].as_array().expect("flags");
        assert_eq!(flags.len(), 1, "only what changed: {patch}");
        assert_eq!((&flags[0]["key"], &flags[0]["variations"][0]["value"]), (&json!("f7"), &json!("v2")));
    }
    println!("{SESSIONS} sessions resynced on the surviving node in {took:?}");
    assert!(took < Duration::from_secs(60), "resync took {took:?}");
    cluster.cleanup().await;
}
