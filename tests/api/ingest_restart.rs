//! A real `vane` node killed (SIGKILL) and restarted in the middle of a stream of insights: every insight it
//! answered 200 for is stored exactly once.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use vane_schema::entity::event;

use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;
use crate::helpers::seed;
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

const BATCHES: usize = 40;
const PER_BATCH: usize = 10;

fn start(dir: &std::path::Path, db: &TestDb, vhost: &TestVhost) -> (VaneProcess, String) {
    let url = vhost.url();
    let env = [
        ("VANE__DATABASE__URL", db.url.as_str()),
        ("VANE__BUS__AMQP_URL", url.as_str()),
        ("VANE__DEMO__ENABLED", "false"),
    ];
    let mut node = VaneProcess::start(dir, &env);
    let base = format!("http://127.0.0.1:{}", node.port_from_banner());
    (node, base)
}

fn batch(i: usize) -> String {
    let items: Vec<_> = (0..PER_BATCH)
        .map(|j| {
            json!({"user": {"keyId": format!("u{i}-{j}")}, "variations": [{"featureFlagKey": "f",
                "variation": {"id": "v1", "value": "true"}, "sendToExperiment": true, "timestamp": 1_719_750_000_000u64 + i as u64}]})
        })
        .collect();
    json!(items).to_string()
}

#[tokio::test]
async fn a_node_killed_mid_stream_loses_and_duplicates_nothing() {
    let (db, vhost) = (TestDb::postgres().await, TestVhost::create());
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut node, mut base) = start(dir.path(), &db, &vhost);
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");

    for i in 0..BATCHES {
        if i == BATCHES / 2 {
            drop(node); // SIGKILL: no flush, no goodbye
            (node, base) = start(dir.path(), &db, &vhost);
        }
        // An SDK retries until it gets its 200; the retry carries the same events.
        eventually(Duration::from_secs(30), "a 200 for the batch", || {
            let req = http.post(format!("{base}/api/public/insight/track")).header("authorization", &env.server);
            let req = req.header("content-type", "application/json").body(batch(i));
            async move { req.send().await.ok().filter(|r| r.status() == 200) }
        })
        .await;
    }

    let expected = (BATCHES * PER_BATCH) as u64;
    eventually(Duration::from_secs(30), "every accepted insight stored", || async {
        (event::Entity::find().count(store.connection()).await.ok()? >= expected).then_some(())
    })
    .await;
    drop(node); // stop consuming before the final count
    assert_eq!(event::Entity::find().count(store.connection()).await.expect("count"), expected, "none duplicated");
    store.connection().clone().close().await.ok();
    vhost.delete();
    db.cleanup().await;
}
