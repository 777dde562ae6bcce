//! Two real `vane` processes sharing Postgres, RabbitMQ (a vhost of this test's own) and Redis (a key prefix of
//! its own): changes made through one node reach real SDKs on the other, segments re-evaluate, environments stay
//! isolated, and a node whose broker connection is cut still converges to the database.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::cluster::Cluster;
use crate::helpers::node_sdk::FlagWatcher;
use crate::helpers::sdk::WsClient;

const WAIT: Duration = Duration::from_secs(20);

fn flag(enabled: bool, rules: Value) -> Value {
    json!({
        "name": "f", "variationType": "boolean", "isEnabled": enabled, "disabledVariationId": "off",
        "variations": [{"id": "on", "value": "true"}, {"id": "off", "value": "false"}],
        "rules": rules,
        "fallthrough": {"includedInExpt": true, "variations": [{"id": "on", "rollout": [0, 1], "exptRollout": 1}]}
    })
}

#[tokio::test]
async fn a_change_on_node_a_reaches_sdks_on_both_nodes_and_stays_in_its_environment() {
    let cluster = Cluster::start(2).await;
    let (env_id, server, client) = cluster.env("prod").await;
    let (_, other_server, _) = cluster.env("other").await;
    let flag_path = format!("/environments/{env_id}/feature-flags/checkout");
    cluster.admin(0, Method::PUT, &flag_path, Some(flag(true, json!([])))).await;

    // A real node SDK on node B, a client session on node A, another environment's session on node B.
    let watcher = FlagWatcher::start(cluster.base(1), &server, "checkout", "u1");
    assert_eq!(watcher.next_value(WAIT), "true");
    let mut cli = WsClient::open(cluster.base(0), "client", &client).await;
    cli.data_sync(json!({"timestamp": 0, "user": {"keyId": "u1"}})).await;
    assert_eq!(cli.next_json().await["data"]["featureFlags"][0]["variation"], "true");
    let mut other = WsClient::open(cluster.base(1), "server", &other_server).await;
    other.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(other.next_json().await["data"]["featureFlags"], json!([]));

    // Act: switch the flag off through node A.
    cluster.admin(0, Method::PATCH, &flag_path, Some(json!({"isEnabled": false}))).await;

    // Assert
    assert_eq!(watcher.next_value(WAIT), "false", "node B's SDK sees the change");
    assert_eq!(cli.next_json().await["data"]["featureFlags"][0]["variation"], "false");
    other.expect_alive().await;
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_segment_change_on_node_a_re_evaluates_client_sessions_on_node_b() {
    let cluster = Cluster::start(2).await;
    let (env_id, _, client) = cluster.env("prod").await;
    let seg = Uuid::new_v4();
    let seg_path = format!("/environments/{env_id}/segments/{seg}");
    cluster.admin(0, Method::PUT, &seg_path, Some(json!({"name": "beta", "included": []}))).await;
    let rules = json!([{"name": "Beta", "conditions": [{"property": "User is in segment", "op": null,
        "value": format!("[\"{seg}\"]")}], "variations": [{"id": "off", "rollout": [0, 1]}]}]);
    cluster.admin(0, Method::PUT, &format!("/environments/{env_id}/feature-flags/f"), Some(flag(true, rules))).await;

    let mut cli = WsClient::open(cluster.base(1), "client", &client).await;
    cli.data_sync(json!({"timestamp": 0, "user": {"keyId": "tester"}})).await;
    assert_eq!(cli.next_json().await["data"]["featureFlags"][0]["variation"], "true");

    cluster.admin(0, Method::PUT, &seg_path, Some(json!({"name": "beta", "included": ["tester"]}))).await;
    let patch = cli.next_json().await;
    assert_eq!(patch["data"]["featureFlags"][0]["variation"], "false");
    assert_eq!(patch["data"]["featureFlags"][0]["matchReason"], "Beta");
    cluster.cleanup().await;
}

#[tokio::test]
async fn sessions_converge_to_the_database_when_the_broker_cuts_the_connection() {
    let cluster = Cluster::start(2).await;
    let (env_id, server, _) = cluster.env("prod").await;
    let flag_path = format!("/environments/{env_id}/feature-flags/f");
    cluster.admin(0, Method::PUT, &flag_path, Some(flag(true, json!([])))).await;
    let mut srv = WsClient::open(cluster.base(1), "server", &server).await;
    srv.data_sync(json!({"timestamp": 0})).await;
    srv.next_json().await;

    // Act: change the flag repeatedly while the broker closes every connection of the vhost.
    for i in 0..10 {
        if i == 3 {
            assert!(cluster.vhost.close_connections() >= 2, "both nodes were connected");
        }
        cluster.admin(0, Method::PATCH, &flag_path, Some(json!({"name": format!("v{i}")}))).await;
    }

    // Assert: node B's session eventually holds the database's final version.
    converge(&mut srv, "v9").await;

    // A change whose message is lost (written to the database only) arrives with the next reconnect's catch-up.
    let store = crate::helpers::seed::store(&cluster.db.url).await;
    let env_uuid = Uuid::parse_str(&env_id).expect("uuid");
    let mut lost = store.flag_by_key(env_uuid, "f").await.expect("reads").expect("exists");
    lost.name = "lost-message".into();
    lost.updated_at = vane_schema::wire::time::now_ms() + chrono::Duration::seconds(1);
    store.upsert_flag(&lost).await.expect("writes");
    assert!(cluster.vhost.close_connections() >= 2);
    converge(&mut srv, "lost-message").await;
    cluster.cleanup().await;
}

/// Reads pushes until one carries a flag named `name`.
async fn converge(srv: &mut WsClient, name: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        assert!(std::time::Instant::now() < deadline, "node B never converged to {name}");
        let frame = srv.next_json().await;
        if frame["data"]["featureFlags"].as_array().is_some_and(|f| f.iter().any(|f| f["name"] == name)) {
            return;
        }
    }
}
