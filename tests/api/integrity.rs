//! The write path keeps every row where it belongs, on Postgres and on SQLite: rows are addressed by
//! (environment, key/id) so a body copied from another environment never moves a row; a write racing an
//! environment deletion leaves no orphan; a segment change bumps the flags using it without overwriting a flag
//! written concurrently. The Redis side (an index entry of another environment is never served) is at the end.

use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use uuid::Uuid;
use vane_actors::store::StoreError;

use crate::admin::{bool_flag, env};
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;

/// Runs `$case(TestDb)` as two tests, `$case::postgres` and `$case::sqlite`.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use crate::helpers::database::TestDb;

            #[actix_web::test]
            async fn postgres() {
                super::$case(TestDb::postgres().await).await;
            }

            #[actix_web::test]
            async fn sqlite() {
                super::$case(TestDb::sqlite()).await;
            }
        }
    )*};
}

on_both_stores!(
    a_flag_copied_from_another_environment_becomes_its_own,
    a_segment_id_of_another_environment_is_a_conflict,
    the_store_never_moves_a_row_between_environments,
    writes_racing_an_environment_deletion_leave_no_orphan,
    segment_changes_racing_flag_writes_never_lose_flag_content,
);

/// `GET /api/public/sdk/server/latest-all` with a server secret: the flags an SDK of that environment gets.
pub async fn server_flags(app: &TestApp, secret: &str) -> Vec<Value> {
    let url = format!("{}/api/public/sdk/server/latest-all", app.address);
    let res = app.http.get(url).header("authorization", secret).send().await.expect("answers");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["data"]["featureFlags"].as_array().cloned().unwrap_or_default()
}

async fn a_flag_copied_from_another_environment_becomes_its_own(db: TestDb) {
    let app = TestApp::spawn(db, &[]).await;
    let (staging, staging_secret, _) = env(&app, "staging").await;
    let (prod, prod_secret, _) = env(&app, "prod").await;
    let staging_path = format!("/environments/{staging}/feature-flags/checkout");
    let prod_path = format!("/environments/{prod}/feature-flags/checkout");
    assert_eq!(app.admin(Method::PUT, &staging_path, Some(bool_flag(true))).await.0, 201);
    let (_, original) = app.admin(Method::GET, &staging_path, None).await;

    // Act: copy the staging flag (its GET body, id and envId included) to prod, twice.
    let (status, copy) = app.admin(Method::PUT, &prod_path, Some(original.clone())).await;
    let mut changed = original.clone();
    changed["name"] = json!("copied again");
    let (again, copy_again) = app.admin(Method::PUT, &prod_path, Some(changed)).await;

    // Assert: prod has a flag of its own; staging's is untouched, in the API and for its SDKs.
    assert_eq!(status, 201, "{copy}");
    assert_eq!(again, 200, "{copy_again}");
    assert_ne!(copy["id"], original["id"], "a new id: the original keeps its own");
    assert_eq!(copy_again["id"], copy["id"]);
    assert_eq!(copy["envId"].as_str(), Some(prod.as_str()));
    let (status, still) = app.admin(Method::GET, &staging_path, None).await;
    assert_eq!((status, &still), (200, &original), "staging's flag is exactly as before");
    let staging_flags = server_flags(&app, &staging_secret).await;
    assert_eq!(staging_flags.len(), 1);
    assert_eq!(
        (staging_flags[0]["id"].clone(), staging_flags[0]["name"].clone()),
        (original["id"].clone(), json!("Dark mode"))
    );
    let prod_flags = server_flags(&app, &prod_secret).await;
    assert_eq!((prod_flags.len(), prod_flags[0]["id"].clone()), (1, copy["id"].clone()));
    assert_eq!(prod_flags[0]["name"], "copied again");

    // A free id in a body is kept (imports), and an existing flag's id never changes.
    let wanted = Uuid::new_v4().to_string();
    let mut import = bool_flag(true);
    import["id"] = json!(wanted);
    let (_, imported) =
        app.admin(Method::PUT, &format!("/environments/{prod}/feature-flags/imported"), Some(import.clone())).await;
    assert_eq!(imported["id"].as_str(), Some(wanted.as_str()));
    import["id"] = json!(Uuid::new_v4().to_string());
    import["name"] = json!("renamed");
    let (status, kept) =
        app.admin(Method::PUT, &format!("/environments/{prod}/feature-flags/imported"), Some(import)).await;
    assert_eq!((status, kept["id"].as_str()), (200, Some(wanted.as_str())));
    app.cleanup().await;
}

async fn a_segment_id_of_another_environment_is_a_conflict(db: TestDb) {
    let app = TestApp::spawn(db, &[]).await;
    let (staging, ..) = env(&app, "staging").await;
    let (prod, ..) = env(&app, "prod").await;
    let seg = Uuid::new_v4();
    let staging_path = format!("/environments/{staging}/segments/{seg}");
    assert_eq!(app.admin(Method::PUT, &staging_path, Some(json!({"name": "beta", "included": ["a"]}))).await.0, 201);
    let (_, original) = app.admin(Method::GET, &staging_path, None).await;

    // Act
    let (status, err) =
        app.admin(Method::PUT, &format!("/environments/{prod}/segments/{seg}"), Some(original.clone())).await;

    // Assert
    assert_eq!((status, err["error"].as_str()), (409, Some("conflict")), "{err}");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("another environment")), "{err}");
    assert_eq!(app.admin(Method::GET, &staging_path, None).await.1, original, "staging's segment is untouched");
    assert_eq!(app.admin(Method::GET, &format!("/environments/{prod}/segments/{seg}"), None).await.0, 404);
    app.cleanup().await;
}

async fn the_store_never_moves_a_row_between_environments(db: TestDb) {
    let store = crate::helpers::seed::store(&db.url).await;
    let (a, b) = (crate::helpers::seed::env(&store).await, crate::helpers::seed::env(&store).await);
    let segment = crate::helpers::seed::segment(b.id, &["x"]);
    let flag = crate::helpers::seed::bool_flag(b.id, "f");
    store.upsert_segment(&segment).await.expect("writes");
    store.upsert_flag(&flag).await.expect("writes");

    // Act: the same ids, written as rows of environment A.
    let moved_flag = store.upsert_flag(&vane_schema::wire::FeatureFlag { env_id: a.id, ..flag.clone() }).await;
    let moved_segment = store.upsert_segment(&vane_schema::wire::Segment { env_id: a.id, ..segment.clone() }).await;
    let orphan = store.upsert_flag(&crate::helpers::seed::bool_flag(Uuid::new_v4(), "g")).await;

    // Assert
    assert!(matches!(moved_flag, Err(StoreError::InOtherEnvironment(_))), "{moved_flag:?}");
    assert!(matches!(moved_segment, Err(StoreError::InOtherEnvironment(_))), "{moved_segment:?}");
    assert!(matches!(orphan, Err(StoreError::NoEnvironment)), "a flag needs an environment: {orphan:?}");
    assert_eq!(store.flags(b.id).await.expect("reads"), vec![flag]);
    assert_eq!(store.segments(b.id).await.expect("reads"), vec![segment]);
    assert!(
        store.flags(a.id).await.expect("reads").is_empty() && store.segments(a.id).await.expect("reads").is_empty()
    );
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

/// Flags and segments whose environment does not exist.
async fn orphans(url: &str) -> i64 {
    let db = Database::connect(url).await.expect("connects");
    let sql = "SELECT (SELECT COUNT(*) FROM feature_flags WHERE env_id NOT IN (SELECT id FROM environments)) \
               + (SELECT COUNT(*) FROM segments WHERE env_id NOT IN (SELECT id FROM environments))";
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect("counts");
    let n = row.expect("a row").try_get_by_index::<i64>(0).expect("a count");
    db.close().await.ok();
    n
}

async fn writes_racing_an_environment_deletion_leave_no_orphan(db: TestDb) {
    let app = TestApp::spawn(db, &[]).await;
    for round in 0..8 {
        let (env_id, ..) = env(&app, &format!("doomed-{round}")).await;
        let writes = (0..6).map(|i| {
            let path = if i % 2 == 0 {
                format!("/environments/{env_id}/feature-flags/f{i}")
            } else {
                format!("/environments/{env_id}/segments/{}", Uuid::new_v4())
            };
            let body = if i % 2 == 0 { bool_flag(true) } else { json!({"name": "s", "included": ["u"]}) };
            let app = &app;
            async move { app.admin(Method::PUT, &path, Some(body)).await }
        });
        let env_path = format!("/environments/{env_id}");
        let delete = app.admin(Method::DELETE, &env_path, None);

        // Act: writes and the deletion at once.
        let (results, (deleted, _)) = futures_util::join!(join_all(writes), delete);

        // Assert: every write either happened before the deletion (and went with it) or was told the
        // environment is gone; nothing outlives its environment.
        assert_eq!(deleted, 204);
        for (status, body) in results {
            assert!(matches!(status, 200 | 201 | 404), "{status} {body}");
        }
        assert_eq!(orphans(&app.db.url).await, 0, "round {round}");
    }
    app.cleanup().await;
}

async fn segment_changes_racing_flag_writes_never_lose_flag_content(db: TestDb) {
    let app = TestApp::spawn(db, &[]).await;
    let (env_id, ..) = env(&app, "race").await;
    let seg = Uuid::new_v4();
    let seg_path = format!("/environments/{env_id}/segments/{seg}");
    app.admin(Method::PUT, &seg_path, Some(json!({"name": "beta", "included": []}))).await;
    let flag = |name: String| {
        let mut f = bool_flag(true);
        f["name"] = json!(name);
        f["rules"] = json!([{"name": "Beta", "conditions": [{"property": "User is in segment", "op": null,
            "value": format!("[\"{seg}\"]")}], "variations": [{"id": "off", "rollout": [0, 1]}]}]);
        f
    };
    let keys: Vec<String> = (0..4).map(|i| format!("f{i}")).collect();
    let mut versions = vec![String::new(); keys.len()];
    for round in 0..30 {
        // Act: every flag is rewritten while the segment changes, twice, at the same time.
        let flag_puts = keys.iter().map(|k| {
            let path = format!("/environments/{env_id}/feature-flags/{k}");
            let (body, app) = (flag(format!("{k} round {round}")), &app);
            async move { app.admin(Method::PUT, &path, Some(body)).await }
        });
        let segment_puts = (0..2).map(|i| {
            let body = json!({"name": "beta", "included": [format!("u{round}-{i}")]});
            let (path, app) = (seg_path.clone(), &app);
            async move { app.admin(Method::PUT, &path, Some(body)).await }
        });
        let (flags, segments) = futures_util::join!(join_all(flag_puts), join_all(segment_puts));
        assert!(flags.iter().chain(&segments).all(|(s, _)| matches!(s, 200 | 201)), "{flags:?} {segments:?}");

        // Assert: each flag holds what its last committed PUT wrote, with a version never older than that PUT's.
        for (i, k) in keys.iter().enumerate() {
            let (_, stored) = app.admin(Method::GET, &format!("/environments/{env_id}/feature-flags/{k}"), None).await;
            assert_eq!(stored["name"], format!("{k} round {round}"), "round {round}: a segment change overwrote {k}");
            let updated = stored["updatedAt"].as_str().expect("updatedAt").to_owned();
            assert!(updated.as_str() >= flags[i].1["updatedAt"].as_str().expect("updatedAt"), "{k}: {updated}");
            assert!(updated > versions[i], "{k} got a newer version in round {round}");
            versions[i] = updated;
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_redis_index_entry_of_another_environment_is_never_served() {
    let prefix = format!("t:{}:", Uuid::new_v4().simple());
    let redis = vane_actors::cache::RedisCache::new("redis://127.0.0.1:6379", &prefix).expect("redis");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let b_flag = crate::helpers::seed::bool_flag(b, "f");
    let b_segment = crate::helpers::seed::segment(b, &["x"]);
    redis.put_environment(b, std::slice::from_ref(&b_flag), std::slice::from_ref(&b_segment)).await.expect("writes");
    let a_flag = crate::helpers::seed::bool_flag(a, "g");
    // Environment A's index also lists B's flag and segment (what an older version left after moving rows).
    redis.put_environment(a, std::slice::from_ref(&a_flag), &[]).await.expect("writes");
    redis.put_flag(&vane_schema::wire::FeatureFlag { env_id: a, ..b_flag.clone() }).await.expect("writes index");
    redis.put_segment(&vane_schema::wire::Segment { env_id: a, ..b_segment.clone() }).await.expect("writes index");
    redis.put_flag(&b_flag).await.expect("B's content back under the key");
    redis.put_segment(&b_segment).await.expect("B's content back under the key");

    // Act
    let (flags, segments) = redis.environment(a).await.expect("reads").expect("loaded");
    let again = redis.environment(a).await.expect("reads").expect("loaded");

    // Assert
    assert_eq!((flags, segments), (vec![a_flag.clone()], vec![]), "only A's own rows");
    assert_eq!(again, (vec![a_flag], vec![]));
    assert_eq!(redis.environment(b).await.expect("reads").expect("loaded"), (vec![b_flag], vec![b_segment]));
    redis.delete_prefix().await.expect("cleanup");
}
