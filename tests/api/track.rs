//! `POST /api/public/insight/track` and the client-sync user flow, end to end into the database.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use vane_schema::entity::{end_user, event};

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;
use crate::helpers::sdk::WsClient;
use crate::helpers::seed::{self, TestEnv};
use crate::helpers::wait::eventually;

async fn app() -> (TestApp, TestEnv, vane_actors::store::Store) {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    (TestApp::spawn(db, &[]).await, env, store)
}

async fn post(app: &TestApp, secret: Option<&str>, body: String) -> (u16, Value) {
    let mut req = app.http.post(format!("{}/api/public/insight/track", app.address)).body(body);
    if let Some(s) = secret {
        req = req.header("authorization", s);
    }
    let res = req.header("content-type", "application/json").send().await.expect("answers");
    let status = res.status().as_u16();
    (status, serde_json::from_str(&res.text().await.expect("body")).unwrap_or(Value::Null))
}

fn evaluation(user: &str, flag: &str) -> Value {
    json!({"user": {"keyId": user, "name": "N", "customizedProperties": [{"name": "plan", "value": "pro"}]},
           "variations": [{"featureFlagKey": flag, "variation": {"id": "v1", "value": "true"}, "sendToExperiment": true,
                           "timestamp": 1_719_750_000_000u64}],
           "metrics": [{"route": "index/metric", "type": "CustomEvent", "eventName": "checkout", "numericValue": 2.5,
                        "appType": "NodeJS-Server-SDK", "timestamp": 1_719_750_000_001u64}]})
}

#[actix_web::test]
async fn a_mixed_batch_keeps_the_valid_items_and_names_the_rest() {
    let (app, env, store) = app().await;
    let body = json!([evaluation("u1", "f1"), {"user": {"name": "no key"}}, evaluation("u2", "f2"), "junk"]);
    let (status, reply) = post(&app, Some(&env.server), body.to_string()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"].as_array().map(Vec::len), Some(2));

    // Stored before the 200: two evaluations, two metrics, two users.
    let db = store.connection();
    assert_eq!(event::Entity::find().count(db).await.expect("count"), 4);
    assert_eq!(end_user::Entity::find().count(db).await.expect("count"), 2);
    app.cleanup().await;
}

#[actix_web::test]
async fn bad_track_bodies_get_clear_errors() {
    let (app, env, _) = app().await;
    let cases = [
        (Some(env.client.as_str()), "{\"not\": \"an array\"}".to_owned(), 400, "invalid_body"),
        (Some(env.client.as_str()), "[{\"user\": {}}]".to_owned(), 400, "invalid_insights"),
        (Some(env.client.as_str()), "not json".to_owned(), 400, "invalid_body"),
        (None, "[]".to_owned(), 401, "unauthorized"),
        (Some("garbage"), "[]".to_owned(), 401, "unauthorized"),
        (Some(env.client.as_str()), format!("[{}]", "1,".repeat(600_000) + "1"), 413, "payload_too_large"),
    ];
    for (secret, body, status, code) in cases {
        let (got, err) = post(&app, secret, body).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(code)), "{err}");
    }
    assert_eq!(post(&app, Some(&env.client), "[]".into()).await.0, 200, "an empty batch is fine");
    app.cleanup().await;
}

/// Issue 11: a 200 KB body — one user with a 20,000-character `keyId` and `name` and 40,000 empty metrics — took a
/// node from 20 MB to 5.6 GB RSS and 29 s. It must be refused before any work, with the node's peak memory flat.
#[tokio::test]
async fn an_amplification_body_is_refused_at_once_and_the_node_peak_memory_stays_flat() {
    // Arrange: a real process (its own memory, measured through /proc), warmed up by one ordinary call.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut vane = VaneProcess::start(dir.path(), &[]);
    let line = vane.wait_for_line("client secret", Duration::from_secs(60));
    let secret = line.rsplit(' ').next().expect("secret at end of line").to_owned();
    let url = format!("http://127.0.0.1:{}/api/public/insight/track", vane.port_from_banner());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let send = |body: String| http.post(&url).header("authorization", &secret).body(body).send();
    let ordinary = json!([evaluation("warm-up", "f1")]).to_string();
    assert_eq!(send(ordinary).await.expect("answers").status(), 200);
    let peak_before = vane.memory("VmHWM");

    // Act
    let long = "x".repeat(20_000);
    let metrics = vec!["{}"; 40_000].join(",");
    let body = format!(r#"[{{"user":{{"keyId":"{long}","name":"{long}"}},"metrics":[{metrics}]}}]"#);
    assert!(body.len() < 210_000, "the issue's 200 KB body");
    let res = send(body).await.expect("answered well within the client's 20 s timeout");

    // Assert
    assert_eq!(res.status(), 400);
    let reply: Value = res.json().await.expect("JSON error body");
    assert!(reply["message"].as_str().is_some_and(|m| m.contains("item 0")), "{reply}");
    let grown = vane.memory("VmHWM").saturating_sub(peak_before);
    assert!(grown < 16 << 20, "peak RSS grew by {} MiB", grown >> 20);
}

#[actix_web::test]
async fn text_the_database_cannot_store_and_oversized_users_are_refused_by_item() {
    let (app, env, store) = app().await;
    let mut nul_property = evaluation("u3", "f1");
    nul_property["user"]["customizedProperties"][0]["value"] = json!("a\u{0}b");
    let mut nul_flag = evaluation("u4", "f1");
    nul_flag["variations"][0]["featureFlagKey"] = json!("f\u{0}");
    let long_key = json!({"user": {"keyId": "k".repeat(513)}});
    let body = json!([evaluation("u1", "f1"), nul_property, nul_flag, long_key, evaluation("u2", "f2")]);

    let (status, reply) = post(&app, Some(&env.client), body.to_string()).await;

    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["accepted"], 2);
    let errors: Vec<&str> =
        reply["rejected"].as_array().expect("list").iter().filter_map(|r| r["error"].as_str()).collect();
    assert_eq!(
        errors,
        [
            "item 1: user.customizedProperties[0].value contains U+0000, which cannot be stored",
            "item 2: variations[0].featureFlagKey contains U+0000, which cannot be stored",
            "item 3: user.keyId has 513 characters, more than the 512 allowed",
        ]
    );
    let db = store.connection();
    assert_eq!(event::Entity::find().count(db).await.expect("count"), 4, "the valid items are stored before the 200");
    app.cleanup().await;
}

#[actix_web::test]
async fn evaluate_and_client_polling_refuse_users_over_the_limits() {
    let (app, env, _) = app().await;
    let huge = json!({"keyId": "u", "customizedProperties": (0..101).map(|i| json!({"name": format!("p{i}"), "value": "v"})).collect::<Vec<_>>()});
    let cases = [
        ("/api/public/featureflag/evaluate", json!({"user": huge.clone()})),
        ("/api/public/featureflag/evaluate", json!({"user": {"keyId": "n\u{0}"}})),
        ("/api/public/sdk/client/latest-all", huge.clone()),
        ("/api/public/sdk/client/latest-all", json!({"keyId": "u", "name": "n".repeat(257)})),
    ];
    for (path, body) in cases {
        let res = app.http.post(format!("{}{path}", app.address)).header("authorization", &env.client).json(&body);
        let res = res.send().await.expect("answers");
        let status = res.status().as_u16();
        let reply: Value = res.json().await.expect("JSON error");
        assert_eq!((status, reply["error"].as_str()), (400, Some("limit_exceeded")), "{path}: {reply}");
    }
    let ok = app.http.post(format!("{}/api/public/featureflag/evaluate", app.address));
    let ok = ok.header("authorization", &env.client).json(&json!({"user": {"keyId": "u"}})).send().await;
    assert_eq!(ok.expect("answers").status(), 200);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_client_data_sync_with_an_oversized_user_is_closed_as_invalid() {
    let (app, env, _) = app().await;
    let mut ws = WsClient::open(&app.address, "client", &env.client).await;
    ws.data_sync(json!({"timestamp": 0, "user": {"keyId": "k".repeat(600)}})).await;
    assert_eq!(ws.expect_close().await.0, 4003);
    app.cleanup().await;
}

#[actix_web::test]
async fn browsers_get_a_cors_preflight_answer_without_credentials() {
    let (app, ..) = app().await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/api/public/insight/track", app.address))
        .header("origin", "http://some-site.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-user-agent")
        .send()
        .await
        .expect("answers");
    assert!(res.status().is_success(), "{}", res.status());
    let headers = res.headers();
    assert!(headers.get("access-control-allow-origin").is_some());
    let allowed = headers.get("access-control-allow-headers").and_then(|v| v.to_str().ok()).unwrap_or_default();
    for h in ["authorization", "content-type", "x-user-agent"] {
        assert!(allowed.to_ascii_lowercase().contains(h), "{allowed}");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn a_client_data_sync_records_its_user() {
    let (app, env, store) = app().await;
    let mut ws = WsClient::open(&app.address, "client", &env.client).await;
    ws.data_sync(json!({"timestamp": 0, "user": {"keyId": "seen-user", "name": "Seen"}})).await;
    ws.next_json().await;
    let name = eventually(Duration::from_secs(10), "the user row", || async {
        let rows = end_user::Entity::find().all(store.connection()).await.ok()?;
        rows.into_iter().find(|u| u.key_id == "seen-user").map(|u| u.name)
    })
    .await;
    assert_eq!(name, "Seen");
    app.cleanup().await;
}

#[actix_web::test]
async fn reports_show_the_users_and_the_evaluations_per_variation() {
    let (app, env, store) = app().await;
    let flag = seed::bool_flag(env.id, "f1");
    store.upsert_flag(&flag).await.expect("flag");
    let body = json!([evaluation("u1", "f1"), evaluation("u2", "f1"), evaluation("u1", "f1")]);
    assert_eq!(post(&app, Some(&env.server), body.to_string()).await.0, 200);

    let (status, page) = app
        .admin(reqwest::Method::GET, &format!("/environments/{}/end-users?search=U2&pageSize=10", env.id), None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["keyId"], "u2");

    let window = "from=1719749999000&to=2024-06-30T12:20:01Z";
    let (status, report) = app
        .admin(reqwest::Method::GET, &format!("/environments/{}/insights/feature-flags/f1?{window}", env.id), None)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["evaluations"].as_i64(), report["uniqueUsers"].as_i64()), (Some(3), Some(2)));
    assert_eq!(report["variations"][0]["variationId"], "v1");

    let (status, err) = app
        .admin(reqwest::Method::GET, &format!("/environments/{}/insights/feature-flags/f1?from=x", env.id), None)
        .await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_window")));
    let (status, _) =
        app.admin(reqwest::Method::GET, &format!("/environments/{}/insights/feature-flags/nope", env.id), None).await;
    assert_eq!(status, 404);
    app.cleanup().await;
}
