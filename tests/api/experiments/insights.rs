//! Evaluation series, the per-flag `insightsEnabled` switch and event retention.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use vane_actors::experiment::retention;
use vane_schema::entity::event;
use vane_schema::wire::time::from_unix_ms;

use super::{app, conversion, exposure, track};
use crate::helpers::database::TestDb;

/// 2024-06-30T12:00:00Z in Unix ms: a fixed hour so buckets are predictable.
const NOON: i64 = 1_719_748_800_000;

async fn series_counts_per_bucket_and_variation(db: TestDb) {
    let (app, env, _) = app(db).await;
    let items = [
        exposure("u1", "exp-flag", "A", false, NOON + 5_000),
        exposure("u1", "exp-flag", "A", false, NOON + 50_000),
        exposure("u2", "exp-flag", "B", true, NOON + 59_999),
        exposure("u2", "exp-flag", "B", true, NOON + 120_000),
        conversion("u2", "checkout", 1.0, NOON + 121_000),
    ];
    track(&app, &env, &items).await;
    let path = format!(
        "/environments/{}/insights/feature-flags/exp-flag/series?from={NOON}&to={}&interval=minute",
        env.id,
        NOON + 180_000
    );
    let (status, series) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{series}");
    let buckets = series["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 3, "{series}");
    assert_eq!(buckets[0]["time"], "2024-06-30T12:00:00.000Z");
    assert_eq!(buckets[0]["evaluations"], 3);
    assert_eq!(
        buckets[0]["variations"],
        json!([{"variationId": "A", "evaluations": 2, "uniqueUsers": 1}, {"variationId": "B", "evaluations": 1, "uniqueUsers": 1}])
    );
    assert_eq!(
        (buckets[1]["evaluations"].as_i64(), buckets[1]["variations"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    assert_eq!(buckets[2]["variations"][0]["variationId"], "B");

    let (status, hourly) = app.admin(Method::GET, &path.replace("interval=minute", "interval=hour"), None).await;
    assert_eq!((status, hourly["buckets"][0]["evaluations"].as_i64()), (200, Some(4)));
    for (query, code) in
        [("interval=week", "invalid_interval"), ("from=1&to=999999999999&interval=minute", "too_many_buckets")]
    {
        let path = format!("/environments/{}/insights/feature-flags/exp-flag/series?{query}", env.id);
        let (status, err) = app.admin(Method::GET, &path, None).await;
        assert_eq!((status, err["error"].as_str()), (400, Some(code)), "{err}");
    }
    let path = format!("/environments/{}/insights/feature-flags/nope/series", env.id);
    assert_eq!(app.admin(Method::GET, &path, None).await.0, 404);
    app.cleanup().await;
}

#[actix_web::test]
async fn series_counts_per_bucket_and_variation_on_sqlite() {
    series_counts_per_bucket_and_variation(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn series_counts_per_bucket_and_variation_on_postgres() {
    series_counts_per_bucket_and_variation(TestDb::postgres().await).await;
}

#[actix_web::test]
async fn a_flag_with_insights_disabled_stores_no_evaluations_but_keeps_custom_events() {
    let (app, env, store) = app(TestDb::sqlite()).await;
    let path = format!("/environments/{}/feature-flags/exp-flag", env.id);
    let (status, flag) = app.admin(Method::GET, &path, None).await;
    assert_eq!((status, &flag["insightsEnabled"]), (200, &Value::Bool(true)), "on by default");
    let (status, flag) = app.admin(Method::PATCH, &path, Some(json!({"insightsEnabled": false}))).await;
    assert_eq!((status, &flag["insightsEnabled"]), (200, &Value::Bool(false)), "{flag}");
    assert_eq!(app.admin(Method::GET, &path, None).await.1["insightsEnabled"], false, "stored");

    // The node's snapshot follows the change (pushed through the hub); poll until an evaluation is dropped.
    let db = store.connection();
    let count = |kind: &'static str| event::Entity::find().filter(event::Column::Event.eq(kind)).count(db);
    crate::helpers::wait::eventually(Duration::from_secs(10), "evaluations dropped", || async {
        let before = count("FlagValue").await.ok()?;
        track(&app, &env, &[exposure("u1", "exp-flag", "A", true, NOON), conversion("u1", "checkout", 1.0, NOON)])
            .await;
        (count("FlagValue").await.ok()? == before).then_some(())
    })
    .await;
    let stored_evaluations = count("FlagValue").await.expect("count");
    track(&app, &env, &[exposure("u2", "exp-flag", "B", true, NOON), conversion("u2", "checkout", 2.0, NOON)]).await;
    assert_eq!(count("FlagValue").await.expect("count"), stored_evaluations, "no evaluation stored");
    assert!(count("CustomEvent").await.expect("count") >= 2, "custom events kept");
    app.cleanup().await;
}

async fn retention_deletes_old_events_in_batches(db: TestDb) {
    let (app, env, store) = app(db).await;
    let old: Vec<Value> =
        (0..25).map(|i| exposure(&format!("u{i}"), "exp-flag", "A", true, NOON - 86_400_000 + i)).collect();
    track(&app, &env, &old).await;
    track(&app, &env, &[exposure("new", "exp-flag", "A", true, NOON + 1)]).await;
    let deleted = retention::purge(&store, from_unix_ms(NOON), 10).await.expect("purges");
    assert_eq!(deleted, 25, "three batches of at most 10");
    let left = event::Entity::find().all(store.connection()).await.expect("rows");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].timestamp.timestamp_millis(), NOON + 1);
    assert_eq!(retention::purge(&store, from_unix_ms(NOON), 10).await.expect("purges"), 0);
    let db = store.connection();
    let sql = "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM flag_user_hours";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("counts");
    let rollup_rows: i64 = row.expect("a row").try_get("", "n").expect("n");
    assert_eq!(rollup_rows, 1, "the rollup hours of the deleted events went with them");
    app.cleanup().await;
}

#[actix_web::test]
async fn retention_deletes_old_events_in_batches_on_sqlite() {
    retention_deletes_old_events_in_batches(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn retention_deletes_old_events_in_batches_on_postgres() {
    retention_deletes_old_events_in_batches(TestDb::postgres().await).await;
}
