//! Redis (the test's own server) killed: SDK syncs are served from Postgres meanwhile, including by a node that
//! starts during the outage; when Redis returns with what it held before (stale), catch-up repairs it, so a node
//! loading from Redis afterwards serves the database's state.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use vane_actors::cache::RedisCache;

use crate::helpers::cluster::{Cluster, string_flag};
use crate::helpers::redis_server::RedisServer;
use crate::helpers::sdk::WsClient;
use crate::helpers::wait::eventually;

/// The value a fresh server SDK session on `node` is served for flag `f`.
async fn synced_value(cluster: &Cluster, node: usize, secret: &str) -> String {
    let mut ws = WsClient::open(cluster.base(node), "server", secret).await;
    ws.data_sync(json!({"timestamp": 0})).await;
    let frame: Value = ws.next_json().await;
    let flags = frame["data"]["featureFlags"].as_array().cloned().unwrap_or_default();
    let f = flags.iter().find(|f| f["key"] == "f").expect("flag f served");
    f["variations"][0]["value"].as_str().expect("value").to_owned()
}

/// What Redis holds for flag `f` of `env`.
async fn cached_value(redis: &RedisCache, env: Uuid) -> Option<String> {
    let (flags, _) = redis.environment(env).await.ok()??;
    flags.into_iter().find(|f| f.key == "f").map(|f| f.variations[0].value.clone())
}

#[tokio::test]
async fn syncs_are_served_from_postgres_while_redis_is_down_and_redis_is_repaired_when_it_returns() {
    // Arrange: one node on a Redis of the test's own, with an environment in use (loaded, so cached whole).
    let mut redis = RedisServer::start();
    let mut cluster = Cluster::start_with(1, &redis.url(), &[("VANE__BUS__RESYNC_INTERVAL_SECONDS", "1")]).await;
    let (env_id, server, _) = cluster.env("prod").await;
    let env = Uuid::parse_str(&env_id).expect("uuid");
    let flag_path = format!("/environments/{env_id}/feature-flags/f");
    cluster.admin(0, Method::PUT, &flag_path, Some(string_flag("v1"))).await;
    assert_eq!(synced_value(&cluster, 0, &server).await, "v1");
    let cache = RedisCache::new(&redis.url(), &cluster.prefix).expect("redis");
    eventually(Duration::from_secs(10), "v1 in Redis", || async {
        (cached_value(&cache, env).await.as_deref() == Some("v1")).then_some(())
    })
    .await;

    // Act: Redis dies; the flag changes meanwhile; a second node starts meanwhile.
    redis.kill();
    cluster.admin(0, Method::PUT, &flag_path, Some(string_flag("v2"))).await;
    let late = cluster.add_node();

    // Assert: both nodes serve the database's state.
    assert_eq!(synced_value(&cluster, 0, &server).await, "v2");
    assert_eq!(synced_value(&cluster, late, &server).await, "v2", "loaded from Postgres while Redis is down");

    // Redis returns with what it held (v1, stale); catch-up repairs it.
    redis.restart();
    eventually(Duration::from_secs(15), "Redis to hold v2 again", || async {
        (cached_value(&cache, env).await.as_deref() == Some("v2")).then_some(())
    })
    .await;
    let fresh = cluster.add_node();
    assert_eq!(synced_value(&cluster, fresh, &server).await, "v2", "a node loading from Redis serves v2");
    cluster.cleanup().await;
}
