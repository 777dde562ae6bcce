//! Readiness that tells the truth in cluster mode: 503 `stale` once the change feed has been lost longer than
//! `bus.stale_after_seconds`; a database blip does not take the node out.

use std::process::Command;

use serde_json::Value;
use uuid::Uuid;

use super::{Node, WAIT};
use crate::helpers::database::TestDb;
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl").args(args).stdout(std::process::Stdio::null()).status().expect("runs");
    assert!(status.success(), "rabbitmqctl {args:?}");
}

async fn readiness(node: &Node) -> (u16, Value) {
    let (status, body) = node.get("/health/readiness").await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn readiness_turns_503_stale_once_the_change_feed_is_lost_longer_than_stale_after() {
    // Arrange: a cluster node whose feed counts as stale after 1 s.
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
    // The node answers before its broker connection is up (readiness says "degraded" until then).
    let body = eventually(WAIT, "readiness 200 ready", || async {
        let (status, body) = readiness(&node).await;
        (status == 200 && body["status"] == "ready").then_some(body)
    })
    .await;
    assert_eq!(body["dependencies"]["broker"]["state"], "up", "{body}");

    // Act: the broker refuses this node (permissions revoked, connections closed).
    rabbitmqctl(&["-q", "clear_permissions", "-p", &vhost.name, "guest"]);
    vhost.close_connections();

    // Assert: 503 stale with the broker down since the loss.
    let body = eventually(WAIT, "readiness 503 stale", || async {
        let (status, body) = readiness(&node).await;
        (status == 503 && body["status"] == "stale").then_some(body)
    })
    .await;
    assert_eq!(body["dependencies"]["broker"]["state"], "down", "{body}");
    assert!(body["dependencies"]["broker"]["since"].is_string());
    assert_eq!(body["dependencies"]["database"]["state"], "up", "{body}");
    // Recovery once permissions return: ops::recovery.

    drop(node);
    let redis = vane_actors::cache::RedisCache::new("redis://127.0.0.1:6379", &prefix).expect("redis");
    redis.delete_prefix().await.expect("redis cleanup");
    vhost.delete();
    db.cleanup().await;
}

#[tokio::test]
async fn a_database_blip_leaves_readiness_200_with_the_database_reported_down() {
    // Arrange: an embedded-bus node on its own Postgres database.
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), &[("VANE__DATABASE__URL", db.url.as_str())]);

    // Act: the database goes away under the node (dropped: every connection refused from now on).
    db.drop_now().await;

    // Assert: the node reports the database down and stays in the balancer (snapshots are loaded).
    let body = eventually(WAIT, "database reported down", || async {
        let (status, body) = readiness(&node).await;
        assert_eq!(status, 200, "{body}");
        (body["dependencies"]["database"]["state"] == "down").then_some(body)
    })
    .await;
    assert_eq!(body["status"], "degraded", "{body}");
    drop(node);
    db.cleanup().await;
}
