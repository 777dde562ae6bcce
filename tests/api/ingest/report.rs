//! The read side on both databases: end users searched and paged, a flag's evaluations per variation in a window.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vane_actors::ingest::report::{EndUserQuery, VariationStats, end_users, flag_report};
use vane_actors::ingest::writers::{Writers, stored};
use vane_actors::ingest::{Ingest, IngestConfig, build};
use vane_actors::store::Store;
use vane_schema::wire::message::EndUserMessage;
use vane_schema::wire::{EndUser, Insight, InsightVariation, VariationInsight};

use super::store;
use crate::helpers::database::TestDb;

const T0: i64 = 1_719_750_000_000;

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("in range")
}

async fn seed_users(store: &Store, env: Uuid) {
    let writers = Writers::start(store.clone(), Default::default());
    let user = |key: &str, name: &str, seen: i64| EndUserMessage {
        name: name.into(),
        ..build::end_user_message(env, &EndUser::with_key(key), seen)
    };
    let users = vec![
        user("bob-1", "Robert", T0 + 1),
        user("alice", "Bobby Tables", T0 + 2),
        user("carol", "Carol", T0 + 3),
        user("100%_real", "Percy", T0 + 4),
    ];
    stored(writers.end_users(users)).await.expect("stored");
    let elsewhere = vec![build::end_user_message(Uuid::new_v4(), &EndUser::with_key("bob-x"), T0)];
    stored(writers.end_users(elsewhere)).await.expect("stored");
    writers.shutdown().await;
}

async fn end_users_are_searched_and_paged(db: &TestDb) {
    let store = store(db).await;
    let env = Uuid::new_v4();
    seed_users(&store, env).await;
    let query = |search: &str, page, page_size| EndUserQuery { search: Some(search.into()), page, page_size };
    let keys = |page: vane_actors::ingest::report::EndUserPage| {
        (page.total, page.items.into_iter().map(|u| u.key_id).collect::<Vec<_>>())
    };

    let all = end_users(&store, env, &query(" ", 0, 10)).await.expect("lists");
    assert_eq!(keys(all), (4, vec!["100%_real".into(), "carol".into(), "alice".into(), "bob-1".into()]));
    let bob = end_users(&store, env, &query("BOB", 0, 10)).await.expect("searches");
    assert_eq!(keys(bob), (2, vec!["alice".into(), "bob-1".into()]), "key or name, any case, newest first");
    let literal = end_users(&store, env, &query("%_", 0, 10)).await.expect("searches");
    assert_eq!(keys(literal), (1, vec!["100%_real".into()]), "% and _ match literally");
    let second = end_users(&store, env, &query("", 1, 3)).await.expect("pages");
    assert_eq!(keys(second), (4, vec!["bob-1".into()]));
}

#[actix_web::test]
async fn ingest_report_end_users_postgres() {
    let db = TestDb::postgres().await;
    end_users_are_searched_and_paged(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_report_end_users_sqlite() {
    end_users_are_searched_and_paged(&TestDb::sqlite()).await;
}

fn evaluation(user: &str, flag: &str, variation: &str, ms: i64) -> Insight {
    Insight {
        user: Some(EndUser::with_key(user)),
        variations: vec![VariationInsight {
            feature_flag_key: flag.into(),
            variation: Some(InsightVariation { id: variation.into(), value: variation.into() }),
            send_to_experiment: true,
            timestamp: ms,
        }],
        metrics: vec![],
    }
}

async fn flag_report_counts_per_variation(db: &TestDb) {
    let store = store(db).await;
    let ingest = Ingest::in_process(store.clone(), IngestConfig { flush_ms: 10, ..IngestConfig::default() });
    let env = Uuid::new_v4();
    let body = vec![
        evaluation("u1", "f", "on", T0),
        evaluation("u1", "f", "on", T0 + 1),
        evaluation("u2", "f", "on", T0 + 2),
        evaluation("u3", "f", "off", T0 + 3),
        evaluation("u1", "f", "off", T0 + 4),
        evaluation("u4", "f", "on", T0 + 10_000), // after the window
        evaluation("u5", "f", "on", T0 - 1),      // before the window
        evaluation("u6", "other", "on", T0 + 5),  // another flag
    ];
    ingest.track(env, body.clone()).await.expect("stored");
    ingest.track(Uuid::new_v4(), body).await.expect("another environment, stored");

    let report = flag_report(&store, env, "f", at(T0), at(T0 + 10_000)).await.expect("reports");

    assert_eq!((report.evaluations, report.unique_users), (5, 3));
    let stats =
        |id: &str, evaluations, unique_users| VariationStats { variation_id: id.into(), evaluations, unique_users };
    assert_eq!(report.variations, vec![stats("off", 2, 2), stats("on", 3, 2)]);
    let empty = flag_report(&store, env, "missing", at(T0), at(T0 + 10_000)).await.expect("reports");
    assert_eq!((empty.evaluations, empty.unique_users, empty.variations.len()), (0, 0, 0));
    ingest.shutdown().await;
}

#[actix_web::test]
async fn ingest_report_flag_evaluations_postgres() {
    let db = TestDb::postgres().await;
    flag_report_counts_per_variation(&db).await;
    db.cleanup().await;
}

#[actix_web::test]
async fn ingest_report_flag_evaluations_sqlite() {
    flag_report_counts_per_variation(&TestDb::sqlite()).await;
}
