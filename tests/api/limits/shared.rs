//! A limit shared by two nodes through Redis, and the local fallback when Redis is gone.

use crate::helpers::cluster::Cluster;
use crate::helpers::redis_server::RedisServer;

const SHARED_POLLING: [(&str, &str); 4] = [
    ("VANE__RATE_LIMITS__SHARED", "true"),
    ("VANE__RATE_LIMITS__POLLING__ALGORITHM", "fixed_window"),
    ("VANE__RATE_LIMITS__POLLING__LIMIT", "3"),
    ("VANE__RATE_LIMITS__POLLING__WINDOW_SECONDS", "3600"),
];

async fn poll(cluster: &Cluster, node: usize, secret: &str) -> u16 {
    let url = format!("{}/api/public/sdk/server/latest-all", cluster.base(node));
    cluster.http.get(url).header("authorization", secret).send().await.expect("answers").status().as_u16()
}

#[tokio::test]
async fn two_nodes_share_one_limit_through_redis() {
    // Arrange
    let cluster = Cluster::start_with(2, crate::helpers::cluster::SHARED_REDIS, &SHARED_POLLING).await;
    let (_, server, _) = cluster.env("prod").await;

    // Act: the limit is 3 per hour for the environment, across both nodes.
    let statuses =
        [poll(&cluster, 0, &server).await, poll(&cluster, 1, &server).await, poll(&cluster, 0, &server).await];
    let fourth = poll(&cluster, 1, &server).await;

    // Assert
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(fourth, 429, "node 1 saw only one request itself: the count is shared");
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_node_whose_redis_is_gone_limits_locally_and_never_fails_requests() {
    // Arrange: the nodes' own Redis, killed once the environment exists.
    let mut redis = RedisServer::start();
    let cluster = Cluster::start_with(1, &redis.url(), &SHARED_POLLING).await;
    let (_, server, _) = cluster.env("prod").await;
    assert_eq!(poll(&cluster, 0, &server).await, 200, "counted in Redis");
    redis.kill();

    // Act: the node counts on its own from here (the secret is in its memory or database).
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(poll(&cluster, 0, &server).await);
    }

    // Assert: no 5xx; the local count (3 per hour, fresh) limits the fourth request.
    assert_eq!(statuses, [200, 200, 200, 429]);
    cluster.cleanup().await;
}
