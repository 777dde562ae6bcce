//! Ingestion through RabbitMQ (a vhost and a Postgres database of each test's own): competing consumers, cut
//! connections, an unreachable database and a graceful stop — no row lost, none duplicated.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, Statement};
use uuid::Uuid;
use vane_actors::ingest::amqp::dead_letter;
use vane_actors::ingest::amqp::publisher::Publisher;
use vane_actors::ingest::{AmqpIngestConfig, Ingest, IngestConfig};
use vane_actors::store::{Store, StoreConfig};
use vane_schema::wire::message::INSIGHTS_QUEUE;

use super::{events_in, items};
use crate::helpers::database::{TestDb, postgres_base};
use crate::helpers::rabbit::{close_connections, connections, queue_depth};
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

const WAIT: Duration = Duration::from_secs(60);
/// Insights per track call of [`items`]`(call, 10, 2, false)`: 10 users × (2 evaluations + 1 metric).
const PER_CALL: u64 = 30;

/// A node's pipeline on the test's vhost and database.
async fn node(vhost: &TestVhost, db: &TestDb, config: IngestConfig) -> (Ingest, Store) {
    let store_config =
        StoreConfig { url: db.url.clone(), max_connections: 4, acquire_timeout: Duration::from_millis(1500) };
    let store = Store::connect(&store_config).await.expect("connects");
    store.migrate().await.expect("migrates");
    let amqp = AmqpIngestConfig { url: vhost.url(), connect_timeout: Duration::from_secs(5) };
    let ingest = Ingest::amqp(store.clone(), config, amqp).await.expect("broker reachable");
    (ingest, store)
}

fn fast() -> IngestConfig {
    IngestConfig { batch_size: 200, flush_ms: 20, prefetch: 50, track_timeout_ms: 5_000, ..IngestConfig::default() }
}

/// Posts call `call` until it is accepted, as an SDK retries a 503.
async fn track_until_accepted(ingest: &Ingest, env: Uuid, call: usize) {
    let body = items(call, 10, 2, false);
    eventually(WAIT, "track accepted", || async { ingest.track(env, body.clone()).await.ok() }).await;
}

/// Waits until `expected` rows exist and the queue is empty, then checks nothing more arrives.
async fn assert_exactly(store: &Store, vhost: &TestVhost, env: Uuid, expected: u64) {
    eventually(WAIT, "every row stored", || async { (events_in(store, env).await >= expected).then_some(()) }).await;
    eventually(WAIT, "queue drained", || async { (queue_depth(vhost, INSIGHTS_QUEUE).await == (0, 0)).then_some(()) })
        .await;
    assert_eq!(events_in(store, env).await, expected, "no row lost, none duplicated");
}

#[actix_web::test]
async fn ingest_amqp_competing_nodes_store_each_insight_once() {
    // Arrange: two nodes on one broker vhost and one database.
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let (a, store) = node(&vhost, &db, fast()).await;
    let (b, _) = node(&vhost, &db, fast()).await;
    let env = Uuid::new_v4();

    // Act: 40 concurrent calls spread over both nodes.
    let calls = (0..40).map(|call| if call % 2 == 0 { &a } else { &b }.track(env, items(call, 10, 2, false)));
    for outcome in futures_util::future::join_all(calls).await {
        assert_eq!(outcome.expect("confirmed").insights as u64, PER_CALL);
    }

    // Assert
    assert_exactly(&store, &vhost, env, 40 * PER_CALL).await;
    assert_eq!(a.status().broker_connected, Some(true));
    futures_util::future::join(a.shutdown(), b.shutdown()).await;
    vhost.delete();
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_amqp_connections_closed_mid_stream_lose_and_duplicate_nothing() {
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let (ingest, store) = node(&vhost, &db, fast()).await;
    let env = Uuid::new_v4();
    let calls = 60;

    // Act: an SDK-like sender posts (retrying refusals) while the broker cuts the node's connections twice.
    let sender = ingest.clone();
    let sending = actix_web::rt::spawn(async move {
        for call in 0..calls {
            track_until_accepted(&sender, env, call).await;
        }
    });
    for cut in [calls as u64 / 3, 2 * calls as u64 / 3] {
        let enough = || async { (events_in(&store, env).await >= cut * PER_CALL).then_some(()) };
        eventually(WAIT, "progress before the cut", enough).await;
        // Each cut must hit all three (after the first, the consumers reconnect on their own back-off).
        let all_up = || async { (connections(&vhost, "vane-ingest").await.len() >= 3).then_some(()) };
        eventually(WAIT, "publisher and both consumers connected", all_up).await;
        assert!(close_connections(&vhost, "vane-ingest").await >= 3, "publisher and both consumers cut");
    }
    sending.await.expect("sender finishes");

    // Assert
    assert_exactly(&store, &vhost, env, calls as u64 * PER_CALL).await;
    eventually(WAIT, "reconnected", || async { (ingest.status().broker_connected == Some(true)).then_some(()) }).await;
    ingest.shutdown().await;
    vhost.delete();
    db.cleanup().await;
}

/// Allows or refuses new connections to the test database, and drops the existing ones when refusing.
async fn database_reachable(db: &TestDb, reachable: bool) {
    let name = db.url.rsplit('/').next().expect("database name");
    let admin = Database::connect(format!("{}/postgres", postgres_base())).await.expect("postgres reachable");
    let mut sql = vec![format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {reachable}")];
    if !reachable {
        sql.push(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"));
    }
    for statement in sql {
        admin.execute_raw(Statement::from_string(admin.get_database_backend(), statement)).await.expect("admin sql");
    }
    admin.close().await.ok();
}

#[actix_web::test]
async fn ingest_amqp_database_unreachable_for_a_while_loses_nothing() {
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let (ingest, store) = node(&vhost, &db, fast()).await;
    let env = Uuid::new_v4();
    ingest.track(env, items(0, 10, 2, false)).await.expect("confirmed");
    eventually(WAIT, "first call stored", || async { (events_in(&store, env).await == PER_CALL).then_some(()) }).await;

    // Act: the database goes away; the broker still confirms, so SDKs get 200 and the queue holds the data.
    database_reachable(&db, false).await;
    for call in 1..20 {
        ingest.track(env, items(call, 10, 2, false)).await.expect("confirmed by the broker");
    }
    eventually(WAIT, "writers notice", || async { (!ingest.status().database_ok).then_some(()) }).await;
    let (ready, unacked) = queue_depth(&vhost, INSIGHTS_QUEUE).await;
    assert!(ready + unacked >= 1, "nothing acked while the database is down");
    database_reachable(&db, true).await;

    // Assert
    assert_exactly(&store, &vhost, env, 20 * PER_CALL).await;
    assert!(ingest.status().database_ok);
    ingest.shutdown().await;
    vhost.delete();
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_amqp_shutdown_stores_and_acks_everything_taken() {
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let slow = IngestConfig { batch_size: 1_000_000, flush_ms: 3_600_000, ..fast() };
    let (ingest, store) = node(&vhost, &db, slow).await;
    let env = Uuid::new_v4();
    for call in 0..10 {
        ingest.track(env, items(call, 10, 2, false)).await.expect("confirmed");
    }
    let taken = || async { (queue_depth(&vhost, INSIGHTS_QUEUE).await == (0, 10)).then_some(()) };
    eventually(WAIT, "all ten messages delivered, none acked", taken).await;
    assert_eq!(events_in(&store, env).await, 0, "nothing flushed by size or time");

    // Act: SIGTERM.
    ingest.shutdown().await;

    // Assert: stored, and acked (nothing left for another node).
    assert_eq!(events_in(&store, env).await, 10 * PER_CALL);
    assert_eq!(queue_depth(&vhost, INSIGHTS_QUEUE).await, (0, 0));
    vhost.delete();
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_amqp_unreachable_broker_is_an_error_at_start() {
    let db = TestDb::postgres().await;
    let store = Store::connect(&StoreConfig {
        url: db.url.clone(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .expect("connects");
    let amqp =
        AmqpIngestConfig { url: "amqp://guest:guest@127.0.0.1:1/x".into(), connect_timeout: Duration::from_secs(2) };
    assert!(Ingest::amqp(store, fast(), amqp).await.is_err());
    db.cleanup().await;
}

/// Publishes `body` straight into `queue` of the test's vhost, as another producer would.
async fn publish_raw(vhost: &TestVhost, queue: &str, body: &[u8]) {
    let amqp = AmqpIngestConfig { url: vhost.url(), connect_timeout: Duration::from_secs(5) };
    let producer = Publisher::connect(&amqp).await.expect("connects");
    producer.publish(&[(queue, body.to_vec())]).await.expect("confirmed");
    producer.close().await;
}

#[actix_web::test]
async fn ingest_amqp_undecodable_messages_are_dead_lettered_and_can_be_replayed() {
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let (ingest, store) = node(&vhost, &db, fast()).await;
    let env = Uuid::new_v4();
    let dead = dead_letter::queue_of(INSIGHTS_QUEUE);

    // Act: a message of an unknown format between two valid calls.
    ingest.track(env, items(0, 10, 2, false)).await.expect("confirmed");
    publish_raw(&vhost, INSIGHTS_QUEUE, br#"{"format": "v99"}"#).await;
    ingest.track(env, items(1, 10, 2, false)).await.expect("confirmed");

    // Assert: the valid data is stored, the unknown message waits in the dead-letter queue (not lost).
    assert_exactly(&store, &vhost, env, 2 * PER_CALL).await;
    eventually(WAIT, "dead-lettered", || async { (queue_depth(&vhost, &dead).await == (1, 0)).then_some(()) }).await;

    // Replay (what `vane replay-dead-letters` runs) with no consumer: the message is back in its queue.
    ingest.shutdown().await;
    let amqp = AmqpIngestConfig { url: vhost.url(), connect_timeout: Duration::from_secs(5) };
    assert_eq!(dead_letter::replay(&amqp, INSIGHTS_QUEUE).await.expect("replays"), 1);
    assert_eq!(queue_depth(&vhost, &dead).await, (0, 0));
    assert_eq!(queue_depth(&vhost, INSIGHTS_QUEUE).await, (1, 0));
    vhost.delete();
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_amqp_full_writers_hold_deliveries_until_the_database_returns() {
    // Arrange: writers that fill up after one call, so an outage makes them refuse appends.
    let (vhost, db) = (TestVhost::create(), TestDb::postgres().await);
    let tiny = IngestConfig { batch_size: PER_CALL as usize, max_buffered_rows: PER_CALL as usize, ..fast() };
    let (ingest, store) = node(&vhost, &db, tiny).await;
    let env = Uuid::new_v4();

    // Act: the database goes away while calls keep arriving (the broker confirms them).
    database_reachable(&db, false).await;
    for call in 0..10 {
        ingest.track(env, items(call, 10, 2, false)).await.expect("confirmed by the broker");
    }
    eventually(WAIT, "writers notice", || async { (!ingest.status().database_ok).then_some(()) }).await;
    let held = || async { (queue_depth(&vhost, INSIGHTS_QUEUE).await == (0, 10)).then_some(()) };
    eventually(WAIT, "every delivery held by the consumer, none requeued", held).await;
    database_reachable(&db, true).await;

    // Assert
    assert_exactly(&store, &vhost, env, 10 * PER_CALL).await;
    ingest.shutdown().await;
    vhost.delete();
    db.cleanup().await;
}
