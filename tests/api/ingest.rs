//! Ingestion into real databases (a fresh Postgres database and a fresh SQLite file per test): track bodies become
//! exactly one `events` row per insight, users are upserted keeping the newest sighting, redeliveries are stored
//! once, batches beyond the bind-parameter limit and poison rows do not lose data.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use vane_actors::ingest::writers::{Writers, stored};
use vane_actors::ingest::{Ingest, IngestConfig, build};
use vane_actors::store::{Store, StoreConfig};
use vane_actors::writer::WriterConfig;
use vane_schema::entity::{end_user, event};
use vane_schema::wire::message::EndUserMessage;
use vane_schema::wire::{EndUser, Insight, InsightVariation, MetricInsight, VariationInsight};

use crate::helpers::database::TestDb;
use crate::helpers::wait::eventually;

mod amqp;
mod bench;
mod report;
mod worst_case;

const WAIT: Duration = Duration::from_secs(20);

async fn store(db: &TestDb) -> Store {
    let config = StoreConfig { url: db.url.clone(), max_connections: 4, acquire_timeout: Duration::from_secs(5) };
    let store = Store::connect(&config).await.expect("connects");
    store.migrate().await.expect("migrates");
    store
}

fn small_batches() -> IngestConfig {
    IngestConfig { batch_size: 64, flush_ms: 10, ..IngestConfig::default() }
}

fn user(key: &str) -> EndUser {
    EndUser { name: Some(format!("name-{key}")), ..EndUser::with_key(key).with_property("plan", "pro") }
}

/// One item per user with `per_item` evaluations (every other one without variation, which yields no insight
/// when `with_null`) and one metric, timestamped by `call` (bodies of different calls are different events).
fn items(call: usize, users: usize, per_item: usize, with_null: bool) -> Vec<Insight> {
    let base = 1_719_750_000_000 + 1_000_000 * call as i64;
    (0..users)
        .map(|u| Insight {
            user: Some(user(&format!("u{u}"))),
            variations: (0..per_item)
                .map(|i| VariationInsight {
                    feature_flag_key: format!("flag-{i}"),
                    variation: (!with_null || i % 2 == 0)
                        .then(|| InsightVariation { id: format!("var-{i}"), value: "true".into() }),
                    send_to_experiment: true,
                    timestamp: base + i as i64,
                })
                .collect(),
            metrics: vec![MetricInsight {
                route: "index/metric".into(),
                kind: "CustomEvent".into(),
                event_name: "checkout".into(),
                numeric_value: 2.5,
                app_type: "test".into(),
                timestamp: base + 999_999,
            }],
        })
        .collect()
}

async fn events_in(store: &Store, env: Uuid) -> u64 {
    event::Entity::find().filter(event::Column::EnvId.eq(env)).count(store.connection()).await.expect("counts")
}

async fn user_row(store: &Store, env: Uuid, key: &str) -> Option<end_user::Model> {
    end_user::Entity::find()
        .filter(end_user::Column::EnvId.eq(env))
        .filter(end_user::Column::KeyId.eq(key))
        .one(store.connection())
        .await
        .expect("queries")
}

// === track → rows ===

async fn track_stores_each_insight_once(db: &TestDb) {
    // Arrange
    let store = store(db).await;
    let ingest = Ingest::in_process(store.clone(), small_batches());
    let env = Uuid::new_v4();
    let (calls, users_per_call) = (20, 25);

    // Act: concurrent track calls, 25 users × (5 evaluations, 3 with a variation, + 1 metric) each.
    let tracks = (0..calls).map(|call| ingest.track(env, items(call, users_per_call, 5, true)));
    let outcomes = futures_util::future::join_all(tracks).await;

    // Assert
    let mut insights = 0;
    for outcome in outcomes {
        insights += outcome.expect("track succeeds").insights;
    }
    assert_eq!(insights, calls * users_per_call * 4);
    assert_eq!(events_in(&store, env).await, insights as u64, "track returned: every insight is committed");
    let users = end_user::Entity::find().filter(end_user::Column::EnvId.eq(env)).count(store.connection());
    assert_eq!(users.await.expect("counts"), users_per_call as u64, "each user stored once");
    ingest.shutdown().await;
}

#[actix_web::test]
async fn ingest_track_postgres_stores_exactly_one_row_per_insight() {
    let db = TestDb::postgres().await;
    track_stores_each_insight_once(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_track_sqlite_stores_exactly_one_row_per_insight() {
    let db = TestDb::sqlite();
    track_stores_each_insight_once(&db).await;
}

async fn rows_carry_every_field(db: &TestDb) {
    let store = store(db).await;
    let ingest = Ingest::in_process(store.clone(), small_batches());
    let env = Uuid::new_v4();

    let outcome = ingest.track(env, items(0, 1, 1, false)).await.expect("tracks");

    assert_eq!((outcome.items, outcome.end_users, outcome.insights), (1, 1, 2));
    let rows = event::Entity::find().filter(event::Column::EnvId.eq(env)).all(store.connection()).await.expect("rows");
    let flag = rows.iter().find(|r| r.event == "FlagValue").expect("evaluation row");
    assert_eq!(flag.distinct_id, format!("{env}-flag-0"));
    assert_eq!(flag.timestamp.timestamp_millis(), 1_719_750_000_000);
    assert_eq!(flag.properties["variationId"], json!("var-0"));
    assert_eq!(flag.properties["userName"], json!("name-u0"));
    assert_eq!(flag.properties["tag_2"], json!("true"));
    let metric = rows.iter().find(|r| r.event == "CustomEvent").expect("metric row");
    assert_eq!(metric.distinct_id, "checkout");
    assert_eq!(metric.properties["numericValue"], json!(2.5));
    assert_eq!(metric.properties["user"], json!({"keyId": "u0", "name": "name-u0"}));
    let stored = user_row(&store, env, "u0").await.expect("user stored");
    assert_eq!(stored.name, "name-u0");
    assert_eq!(stored.customized_properties, json!([{"name": "plan", "value": "pro"}]));
    ingest.shutdown().await;
}

#[actix_web::test]
async fn ingest_rows_carry_every_field_postgres() {
    let db = TestDb::postgres().await;
    rows_carry_every_field(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_rows_carry_every_field_sqlite() {
    rows_carry_every_field(&TestDb::sqlite()).await;
}

// === users ===

async fn newest_sighting_wins(db: &TestDb) {
    let store = store(db).await;
    let writers =
        Writers::start(store.clone(), WriterConfig { flush_every: Duration::from_millis(10), ..Default::default() });
    let env = Uuid::new_v4();
    let sighting = |name: &str, plan: &str, at: i64| EndUserMessage {
        name: name.into(),
        ..build::end_user_message(env, &EndUser::with_key("u1").with_property("plan", plan), at)
    };

    // Within one batch and across batches, by sighting time, whatever the arrival order.
    stored(writers.end_users(vec![sighting("first", "free", 1_000), sighting("second", "pro", 2_000)]))
        .await
        .expect("stored");
    stored(writers.end_users(vec![sighting("late-old", "x", 1_500)])).await.expect("stored");
    let row = user_row(&store, env, "u1").await.expect("stored");
    assert_eq!((row.name.as_str(), row.updated_at.timestamp_millis()), ("second", 2_000));
    assert_eq!(row.customized_properties, json!([{"name": "plan", "value": "pro"}]));
    assert_eq!(row.created_at.timestamp_millis(), 1_000, "first sighting kept as created_at");

    stored(writers.end_users(vec![sighting("third", "team", 3_000)])).await.expect("stored");
    let newer = user_row(&store, env, "u1").await.expect("stored");
    assert_eq!((newer.name.as_str(), newer.id), ("third", row.id), "same row, newer name");
    writers.shutdown().await;
}

#[actix_web::test]
async fn ingest_users_newest_sighting_wins_postgres() {
    let db = TestDb::postgres().await;
    newest_sighting_wins(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_users_newest_sighting_wins_sqlite() {
    newest_sighting_wins(&TestDb::sqlite()).await;
}

#[actix_web::test]
async fn ingest_client_syncs_publish_the_user_every_time() {
    let db = TestDb::postgres().await;
    let store = store(&db).await;
    let ingest = Ingest::in_process(store.clone(), small_batches());
    let env = Uuid::new_v4();

    ingest.user_seen(env, &EndUser { name: Some("A".into()), ..EndUser::with_key("c1") });
    eventually(WAIT, "first sighting", || async { user_row(&store, env, "c1").await.filter(|u| u.name == "A") }).await;
    // The clock has millisecond resolution: make sure the second sighting is strictly newer.
    let first = user_row(&store, env, "c1").await.expect("stored").updated_at;
    eventually(WAIT, "a later millisecond", || async { (vane_schema::wire::time::now_ms() > first).then_some(()) })
        .await;
    ingest.user_seen(env, &EndUser { name: Some("B".into()), ..EndUser::with_key("c1") });
    ingest.user_seen(env, &EndUser::with_key(" ")); // no key: ignored

    eventually(WAIT, "second sighting", || async { user_row(&store, env, "c1").await.filter(|u| u.name == "B") }).await;
    ingest.shutdown().await;
    db.cleanup().await;
}

// === idempotency and limits ===

async fn redelivery_is_stored_once(db: &TestDb) {
    let store = store(db).await;
    let writers =
        Writers::start(store.clone(), WriterConfig { flush_every: Duration::from_millis(10), ..Default::default() });
    let env = Uuid::new_v4();
    let messages = build::insight_messages(env, &user("u"), &items(0, 1, 3, false)[0], 0);

    stored(writers.insights(messages.clone())).await.expect("stored");
    stored(writers.insights(messages.clone())).await.expect("redelivery accepted");
    let doubled: Vec<_> = messages.iter().chain(&messages).cloned().collect();
    stored(writers.insights(doubled)).await.expect("duplicates inside one batch accepted");

    assert_eq!(events_in(&store, env).await, messages.len() as u64);
    writers.shutdown().await;
}

#[actix_web::test]
async fn ingest_redelivered_uuid_is_written_once_postgres() {
    let db = TestDb::postgres().await;
    redelivery_is_stored_once(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_redelivered_uuid_is_written_once_sqlite() {
    redelivery_is_stored_once(&TestDb::sqlite()).await;
}

#[actix_web::test]
async fn ingest_sqlite_batch_beyond_the_bind_limit_is_chunked() {
    let db = TestDb::sqlite();
    let store = store(&db).await;
    let config = WriterConfig { max_batch: 20_000, flush_every: Duration::from_millis(10), ..Default::default() };
    let writers = Writers::start(store.clone(), config);
    let env = Uuid::new_v4();
    let messages = build::insight_messages(env, &user("u"), &items(0, 1, 12_000, false)[0], 0);

    stored(writers.insights(messages)).await.expect("stored");

    assert_eq!(events_in(&store, env).await, 12_001);
    writers.shutdown().await;
}

#[actix_web::test]
async fn ingest_postgres_poison_row_is_dropped_and_the_rest_stored() {
    let db = TestDb::postgres().await;
    let store = store(&db).await;
    let writers =
        Writers::start(store.clone(), WriterConfig { flush_every: Duration::from_millis(10), ..Default::default() });
    let env = Uuid::new_v4();
    let mut messages = build::insight_messages(env, &user("u"), &items(0, 1, 9, false)[0], 0);
    messages[4].distinct_id = "nul\u{0}byte".into(); // Postgres text cannot hold NUL

    stored(writers.insights(messages)).await.expect("batch completes");

    assert_eq!(events_in(&store, env).await, 9, "9 of 10 stored, the poison row dropped");
    writers.shutdown().await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_shutdown_flushes_what_is_buffered() {
    let db = TestDb::postgres().await;
    let store = store(&db).await;
    let config = WriterConfig { max_batch: 1_000_000, flush_every: Duration::from_secs(3600), ..Default::default() };
    let writers = Writers::start(store.clone(), config);
    let env = Uuid::new_v4();
    let pending = writers.insights(build::insight_messages(env, &user("u"), &items(0, 1, 10, false)[0], 0));
    assert_eq!(events_in(&store, env).await, 0, "nothing flushes by size or time");

    writers.shutdown().await;

    assert_eq!(stored(pending).await, Ok(()));
    assert_eq!(events_in(&store, env).await, 11);
    db.cleanup().await;
}
