//! Two cluster nodes: the js-client-sdk in Chromium and raw client sessions on node B, attributes PUT on node A.
//! The user's sessions on B get a patch with the flag's new value, another user's session and a server session
//! get nothing; the same holds after the broker connections are cut and restored (converging from the database
//! when the message was lost with the connection). Latencies are printed for BENCHMARKS.md.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{client_sync, plan_body, plan_flag, plan_value};
use crate::helpers::cluster::Cluster;
use crate::helpers::node_sdk::FlagWatcher;
use crate::helpers::sdk::WsClient;

/// Page load, SDK start and first sync in Chromium on a loaded 2-core machine.
const BROWSER_READY: Duration = Duration::from_secs(60);
/// A user message (or, after a broker outage, the catch-up) reaching node B.
const ARRIVE: Duration = Duration::from_secs(20);

const A: usize = 0;
const B: usize = 1;

#[tokio::test]
async fn a_put_on_node_a_patches_that_users_sessions_on_node_b_even_across_a_broker_outage() {
    // Arrange: the flag; on node B the browser SDK as u1, raw sessions of u1 and u2, and a server session.
    let cluster = Cluster::start(2).await;
    let (env_id, server, client) = cluster.env("prod").await;
    cluster.admin(A, Method::PUT, &format!("/environments/{env_id}/feature-flags/plan"), Some(plan_flag())).await;
    let browser = FlagWatcher::browser(cluster.base(B), &client, "plan", "u1");
    assert_eq!(browser.next_value(BROWSER_READY), "free");
    let mut users = Vec::new();
    for key in ["u1", "u2"] {
        let mut ws = WsClient::open(cluster.base(B), "client", &client).await;
        ws.data_sync(client_sync(key, "free")).await;
        assert_eq!(plan_value(&ws.next_json().await).as_deref(), Some("free"));
        users.push(ws);
    }
    let mut server_ws = WsClient::open(cluster.base(B), "server", &server).await;
    server_ws.data_sync(json!({"timestamp": 0})).await;
    server_ws.next_json().await;
    let path = format!("/environments/{env_id}/end-users/u1");

    // Act 1: plan = pro on node A.
    let put = Instant::now();
    cluster.admin(A, Method::PUT, &path, Some(plan_body("pro"))).await;

    // Assert 1: u1's sessions on B see `pro`; u2's and the server session get nothing.
    let patch = users[0].next_json().await;
    let raw_latency = put.elapsed();
    assert_eq!((patch["data"]["eventType"].as_str(), plan_value(&patch).as_deref()), (Some("patch"), Some("pro")));
    assert_eq!(browser.next_value(ARRIVE), "pro");
    users[1].expect_alive().await;
    server_ws.expect_alive().await;
    println!("user message PUT on A -> patch on B: {raw_latency:?}");

    // Act 2: the broker drops both nodes' connections; plan = free is set while they recover.
    let closed = cluster.vhost.close_connections();
    assert!(closed >= 2, "both nodes' connections were closed ({closed})");
    cluster.admin(A, Method::PUT, &path, Some(plan_body("free"))).await;
    cluster.wait_healthy(Duration::from_secs(30)).await;

    // Assert 2: B converges (by the message or by the catch-up after its reconnect); u2 still gets nothing.
    let deadline = Instant::now() + ARRIVE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, users[0].next_json()).await.expect("u1 converged in time");
        if plan_value(&frame).as_deref() == Some("free") {
            break;
        }
    }
    assert_eq!(browser.next_value(ARRIVE), "free");
    users[1].expect_alive().await;
    server_ws.expect_alive().await;
    drop(browser);
    cluster.cleanup().await;
}

/// PUT on A → patch on B, for a flag change and for a user message, alternately; prints both medians.
#[tokio::test]
async fn user_message_and_flag_change_latency_across_nodes() {
    const RUNS: usize = 7;
    let cluster = Cluster::start(2).await;
    let (env_id, _, client) = cluster.env("prod").await;
    let flag_path = format!("/environments/{env_id}/feature-flags/plan");
    cluster.admin(A, Method::PUT, &flag_path, Some(plan_flag())).await;
    let mut ws = WsClient::open(cluster.base(B), "client", &client).await;
    ws.data_sync(client_sync("u1", "free")).await;
    ws.next_json().await;
    let user_path = format!("/environments/{env_id}/end-users/u1");
    let (mut users, mut flags) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let plan = if i % 2 == 0 { "pro" } else { "free" };
        let started = Instant::now();
        cluster.admin(A, Method::PUT, &user_path, Some(plan_body(plan))).await;
        assert_eq!(plan_value(&ws.next_json().await).as_deref(), Some(plan), "user run {i}");
        users.push(started.elapsed());
        let mut flag = plan_flag();
        flag["name"] = json!(format!("plan {i}"));
        let started = Instant::now();
        cluster.admin(A, Method::PUT, &flag_path, Some(flag)).await;
        assert!(plan_value(&ws.next_json().await).is_some(), "flag run {i}");
        flags.push(started.elapsed());
    }
    users.sort();
    flags.sort();
    println!("median of {RUNS}: user message {:?}, flag change {:?}", users[RUNS / 2], flags[RUNS / 2]);
    println!("user message runs {users:?}\nflag change runs {flags:?}");
    cluster.cleanup().await;
}
