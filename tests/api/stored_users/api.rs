//! The routes on one embedded node (SQLite, in-process bus) and on Postgres: contract, bad input, the merge into
//! polling and `featureflag/evaluate`, and pushes to exactly the sessions of the changed user.

use reqwest::Method;
use serde_json::{Value, json};

use super::{client_sync, plan_body, plan_flag, plan_value};
use crate::admin::env;
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;

async fn evaluate(app: &TestApp, secret: &str, user: Value) -> (u16, Value) {
    let url = format!("{}/api/public/featureflag/evaluate", app.address);
    let res =
        app.http.post(url).header("authorization", secret).json(&json!({"user": user})).send().await.expect("answers");
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn evaluated_plan(body: &Value) -> Option<&str> {
    body.as_array()?.iter().find(|e| e["key"] == "plan")?["variation"]["value"].as_str()
}

async fn stored_attributes_follow_the_contract_and_win_over_what_sdks_send(db: TestDb) {
    // Arrange
    let app = TestApp::spawn(db, &[]).await;
    let (env_id, server, client) = env(&app, "prod").await;
    let (status, flag) =
        app.admin(Method::PUT, &format!("/environments/{env_id}/feature-flags/plan"), Some(plan_flag())).await;
    assert_eq!(status, 201, "{flag}");
    let path = format!("/environments/{env_id}/end-users/u1");
    let claims_free = json!({"keyId": "u1", "customizedProperties": [{"name": "plan", "value": "free"}]});

    // Act + Assert: create, replace, read.
    let (status, created) = app.admin(Method::PUT, &path, Some(plan_body("pro"))).await;
    assert_eq!((status, created["keyId"].as_str()), (201, Some("u1")), "{created}");
    assert!(created["updatedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{created}");
    let (status, replaced) = app
        .admin(
            Method::PUT,
            &path,
            Some(json!({"name": "Ann", "customizedProperties": [
        {"name": "plan", "value": "pro"}, {"name": "country", "value": "fr"}]})),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert!(replaced["version"].as_i64() > created["version"].as_i64(), "{replaced}");
    let (status, read) = app.admin(Method::GET, &path, None).await;
    assert_eq!((status, &read), (200, &replaced));

    // The stored plan wins over the claimed one on evaluate and on client polling; a blank key is not merged.
    let (status, body) = evaluate(&app, &server, claims_free.clone()).await;
    assert_eq!((status, evaluated_plan(&body)), (200, Some("pro")), "{body}");
    let (_, body) =
        evaluate(&app, &server, json!({"keyId": "u2", "customizedProperties": [{"name": "plan", "value": "free"}]}))
            .await;
    assert_eq!(evaluated_plan(&body), Some("free"), "{body}");
    let url = format!("{}/api/public/sdk/client/latest-all", app.address);
    let polled: Value = app
        .http
        .post(&url)
        .header("authorization", &client)
        .json(&claims_free)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(plan_value(&polled).as_deref(), Some("pro"), "{polled}");

    // Forget: 204, then 404s, and the claim counts again.
    assert_eq!(app.admin(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(app.admin(Method::GET, &path, None).await.0, 404);
    assert_eq!(app.admin(Method::DELETE, &path, None).await.0, 404);
    let (_, body) = evaluate(&app, &server, claims_free).await;
    assert_eq!(evaluated_plan(&body), Some("free"), "{body}");
    app.cleanup().await;
}

#[actix_web::test]
async fn stored_attributes_follow_the_contract_and_win_over_what_sdks_send_on_sqlite() {
    stored_attributes_follow_the_contract_and_win_over_what_sdks_send(TestDb::sqlite()).await;
}

#[actix_web::test]
async fn stored_attributes_follow_the_contract_and_win_over_what_sdks_send_on_postgres() {
    stored_attributes_follow_the_contract_and_win_over_what_sdks_send(TestDb::postgres().await).await;
}

#[actix_web::test]
async fn bad_end_user_requests_are_refused_with_json_errors() {
    let app = TestApp::spawn(TestDb::sqlite(), &[]).await;
    let (env_id, _, _) = env(&app, "prod").await;
    let path = format!("/environments/{env_id}/end-users/u1");
    let long = "x".repeat(100_000);
    for (why, path, body, expected) in [
        ("not an object", path.clone(), json!([1]), 400),
        ("properties missing", path.clone(), json!({"name": "a"}), 400),
        ("properties not a list", path.clone(), json!({"customizedProperties": {"plan": "pro"}}), 400),
        ("unknown field", path.clone(), json!({"customizedProperties": [], "plan": "pro"}), 400),
        ("NUL in a value", path.clone(), json!({"customizedProperties": [{"name": "plan", "value": "a\u{0}"}]}), 400),
        ("oversized value", path.clone(), json!({"customizedProperties": [{"name": "plan", "value": long}]}), 400),
        ("bad environment id", "/environments/nope/end-users/u1".into(), plan_body("pro"), 400),
        ("unknown environment", format!("/environments/{}/end-users/u1", uuid::Uuid::new_v4()), plan_body("pro"), 404),
    ] {
        let (status, body) = app.admin(Method::PUT, &path, Some(body)).await;
        assert_eq!(status, expected, "{why}: {body}");
        assert!(body["error"].is_string(), "{why}: a JSON error body: {body}");
    }
    let blank = format!("/environments/{env_id}/end-users/%20");
    assert_eq!(app.admin(Method::PUT, &blank, Some(plan_body("pro"))).await.0, 400, "a blank key");
    let res = app.http.get(format!("{}/api/v1{path}", app.address)).send().await.expect("answers");
    assert_eq!(res.status(), 401);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_put_patches_only_the_sessions_of_that_user_and_only_with_changed_flags() {
    // Arrange: sessions of u1 (twice), u2 and a server SDK; a second flag that no attribute changes.
    let app = TestApp::spawn(TestDb::sqlite(), &[]).await;
    let (env_id, server, client) = env(&app, "prod").await;
    let (status, flag) =
        app.admin(Method::PUT, &format!("/environments/{env_id}/feature-flags/plan"), Some(plan_flag())).await;
    assert_eq!(status, 201, "{flag}");
    app.admin(Method::PUT, &format!("/environments/{env_id}/feature-flags/other"), Some(crate::admin::bool_flag(true)))
        .await;
    let mut sessions = Vec::new();
    for key in ["u1", "u1", "u2"] {
        let mut ws = WsClient::open(&app.address, "client", &client).await;
        ws.data_sync(client_sync(key, "free")).await;
        assert_eq!(plan_value(&ws.next_json().await).as_deref(), Some("free"));
        sessions.push(ws);
    }
    let mut server_ws = WsClient::open(&app.address, "server", &server).await;
    server_ws.data_sync(json!({"timestamp": 0})).await;
    server_ws.next_json().await;
    let path = format!("/environments/{env_id}/end-users/u1");

    // Act
    assert_eq!(app.admin(Method::PUT, &path, Some(plan_body("pro"))).await.0, 201);

    // Assert: both u1 sessions get a patch of just `plan`; u2 and the server session get nothing.
    for ws in &mut sessions[..2] {
        let patch = ws.next_json().await;
        assert_eq!(patch["data"]["eventType"], "patch", "{patch}");
        assert_eq!(patch["data"]["featureFlags"].as_array().map(Vec::len), Some(1), "{patch}");
        assert_eq!(plan_value(&patch).as_deref(), Some("pro"), "{patch}");
    }
    sessions[2].expect_alive().await;
    server_ws.expect_alive().await;

    // A flag change pushed meanwhile keeps the sessions indexed under their user (regression: a flag push used to
    // unlink every session it reached, so later user messages were lost).
    let other = format!("/environments/{env_id}/feature-flags/other");
    app.admin(Method::PUT, &other, Some(crate::admin::bool_flag(false))).await;
    for ws in sessions.iter_mut().chain([&mut server_ws]) {
        ws.next_json().await;
    }

    // A change that changes no result pushes nothing; forgetting the user reverts to the claim.
    let same = json!({"customizedProperties": [{"name": "plan", "value": "pro"}, {"name": "x", "value": "y"}]});
    assert_eq!(app.admin(Method::PUT, &path, Some(same)).await.0, 200);
    sessions[0].expect_alive().await;
    assert_eq!(app.admin(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(plan_value(&sessions[0].next_json().await).as_deref(), Some("free"));

    // A session connecting after a PUT syncs with the stored attributes at once.
    assert_eq!(app.admin(Method::PUT, &path, Some(plan_body("pro"))).await.0, 201);
    let mut late = WsClient::open(&app.address, "client", &client).await;
    late.data_sync(client_sync("u1", "free")).await;
    assert_eq!(plan_value(&late.next_json().await).as_deref(), Some("pro"));
    app.cleanup().await;
}
