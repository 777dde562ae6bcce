//! Rotation across nodes: a secret revoked on node A is refused on node B, whose sessions opened with it are
//! closed with 4003; a revocation that never went through the bus (written straight to the database) is picked
//! up by node B's periodic catch-up.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::poll;
use crate::helpers::cluster::{Cluster, SHARED_REDIS};
use crate::helpers::sdk::WsClient;
use crate::helpers::seed;
use crate::helpers::wait::eventually;

const WITHIN: Duration = Duration::from_secs(20);

#[actix_web::test]
async fn a_secret_revoked_on_one_node_is_refused_and_its_sessions_closed_on_another() {
    let cluster = Cluster::start_with(2, SHARED_REDIS, &[("VANE__BUS__RESYNC_INTERVAL_SECONDS", "1")]).await;
    cluster.wait_healthy(WITHIN).await;
    let (env, old, client) = cluster.env("rot-cluster").await;
    let b = cluster.base(1).to_owned();
    let http = reqwest::Client::new();
    eventually(WITHIN, "node B to know the new environment", || async {
        (poll(&http, &b, &old).await == 200).then_some(())
    })
    .await;
    let mut session = WsClient::open(&b, "server", &old).await;
    session.data_sync(json!({"timestamp": 0})).await;
    session.next_json().await;

    let added =
        cluster.admin(0, Method::POST, &format!("/environments/{env}/secrets"), Some(json!({"type": "server"}))).await;
    let new = added["value"].as_str().expect("value").to_owned();
    cluster.admin(0, Method::DELETE, &format!("/environments/{env}/secrets/{old}"), None).await;
    assert_eq!(session.expect_close().await.0, 4003, "node B closes the session of the revoked secret");
    eventually(WITHIN, "node B to refuse the revoked secret", || async {
        (poll(&http, &b, &old).await == 401).then_some(())
    })
    .await;
    assert_eq!(WsClient::open(&b, "server", &old).await.expect_close().await.0, 4003);
    assert_eq!(poll(&http, &b, &new).await, 200);

    // Missed message: revoke the client secret behind the bus's back; node B's catch-up converges.
    let store = seed::store(&cluster.db.url).await;
    let env_id: Uuid = env.parse().expect("uuid");
    store.add_secret(env_id, vane_schema::secret::SecretType::Client).await.expect("adds");
    store.revoke_secret(env_id, &client).await.expect("revokes");
    let url = format!("{b}/api/public/sdk/client/latest-all");
    eventually(WITHIN, "node B's catch-up to refuse the secret revoked without a message", || async {
        let res = http.post(&url).header("Authorization", &client).json(&json!({"keyId": "u"})).send().await.ok()?;
        (res.status().as_u16() == 401).then_some(())
    })
    .await;
    cluster.cleanup().await;
}
