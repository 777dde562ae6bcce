//! A node the broker refused for a while (permissions revoked, connections closed, every reconnect answered 403
//! ACCESS_REFUSED) comes back by itself once the broker accepts it again: ready, track calls accepted, changes
//! pushed — no restart. (The ops note said the ingestion publisher was "not back 20 s after a revoke/restore":
//! it is back, 23–27 s after the grant on this machine, after a ~20 s pause in lapin's reconnect attempts whose
//! cause is not pinned down; a shorter lapin backoff did not change it.)

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Node, flag};
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

/// lapin's reconnect backoff plus our restart backoffs, with room for a loaded machine.
const RECOVERY: Duration = Duration::from_secs(60);

async fn readiness(node: &Node) -> (u16, Value) {
    let (status, body) = node.get("/health/readiness").await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_node_refused_by_the_broker_for_a_while_recovers_without_a_restart() {
    // Arrange: a ready cluster node with a flag and a server session.
    let (db, vhost) = (TestDb::postgres().await, TestVhost::create());
    let prefix = format!("t:{}:", Uuid::new_v4().simple());
    let url = vhost.url();
    let env = [
        ("VANE__DATABASE__URL", db.url.as_str()),
        ("VANE__BUS__AMQP_URL", url.as_str()),
        ("VANE__CACHE__REDIS_URL", "redis://127.0.0.1:6379"),
        ("VANE__CACHE__KEY_PREFIX", prefix.as_str()),
        ("VANE__BUS__STALE_AFTER_SECONDS", "1"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), &env);
    eventually(RECOVERY, "ready", || async { (readiness(&node).await.0 == 200).then_some(()) }).await;
    let (env_id, secret) = node.env("prod").await;
    let path = format!("/environments/{env_id}/feature-flags/checkout");
    node.admin(Method::PUT, &path, Some(flag(true))).await;

    // Act: the broker refuses the node until it has noticed, then accepts it again.
    vhost.revoke();
    vhost.close_connections();
    eventually(RECOVERY, "readiness 503", || async { (readiness(&node).await.0 == 503).then_some(()) }).await;
    vhost.grant();

    // Assert: ready again, a track call accepted, a change pushed to a new session.
    let body = eventually(RECOVERY, "ready again", || async {
        let (status, body) = readiness(&node).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(body["dependencies"]["broker"]["state"], "up", "{body}");
    let track = json!([{"user": {"keyId": "u1", "name": "N"}, "variations": [{"featureFlagKey": "checkout",
        "variation": {"id": "on", "value": "true"}, "sendToExperiment": false, "timestamp": 1_719_750_000_000u64}]}]);
    let res = node
        .http
        .post(format!("{}/api/public/insight/track", node.base))
        .header("authorization", &secret)
        .json(&track)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), 200);
    let mut ws = WsClient::open(&node.base, "server", &secret).await;
    ws.data_sync(json!({"timestamp": 0})).await;
    ws.next_json().await;
    node.admin(Method::PATCH, &path, Some(json!({"isEnabled": false}))).await;
    assert!(ws.next_text().await.contains("patch"), "the change is pushed");

    drop(node);
    let redis = vane_actors::cache::RedisCache::new("redis://127.0.0.1:6379", &prefix).expect("redis");
    redis.delete_prefix().await.expect("redis cleanup");
    vhost.delete();
    db.cleanup().await;
}
