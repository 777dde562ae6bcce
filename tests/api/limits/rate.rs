//! Per-environment rate limits on polling, track and streaming connects, and the per-session data-sync limit and
//! sighting dedupe.

use serde_json::{Value, json};

use super::{metric, node};
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;
use crate::helpers::seed;

fn fixed_window(policy: &str, limit: &str) -> [(String, String); 3] {
    let key = |k: &str| format!("VANE__RATE_LIMITS__{}__{k}", policy.to_ascii_uppercase());
    [(key("ALGORITHM"), "fixed_window".into()), (key("LIMIT"), limit.into()), (key("WINDOW_SECONDS"), "3600".into())]
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn assert_limited(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((3000..=3600).contains(&retry), "Retry-After counts down the hour window: {retry}");
    let body: Value = res.json().await.expect("JSON body");
    assert_eq!(body["error"], "rate_limited", "{body}");
}

#[actix_web::test]
async fn polling_over_the_limit_is_429_with_retry_after_and_other_environments_are_unaffected() {
    // Arrange
    let settings = fixed_window("polling", "2");
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let (env, other) = (seed::env(&store).await, seed::env(&store).await);
    let app = TestApp::spawn(db, &pairs(&settings)).await;
    let poll = |secret: &str| {
        let url = format!("{}/api/public/sdk/server/latest-all", app.address);
        app.http.get(url).header("authorization", secret).send()
    };

    // Act + Assert
    for _ in 0..2 {
        assert_eq!(poll(&env.server).await.expect("answers").status(), 200);
    }
    assert_limited(poll(&env.server).await.expect("answers")).await;
    assert_eq!(poll(&other.server).await.expect("answers").status(), 200, "counted per environment");
    assert_eq!(metric(&app, "vane_rate_limited_total", &[r#"policy="polling""#]).await, 1.0);
    app.cleanup().await;
}

#[actix_web::test]
async fn track_over_the_limit_is_429_with_retry_after() {
    let settings = fixed_window("insights", "1");
    let (app, env) = node(&pairs(&settings)).await;
    let track = || {
        let url = format!("{}/api/public/insight/track", app.address);
        app.http.post(url).header("authorization", &env.client).json(&json!([])).send()
    };

    assert_eq!(track().await.expect("answers").status(), 200);
    assert_limited(track().await.expect("answers")).await;
    app.cleanup().await;
}

#[actix_web::test]
async fn a_connect_flood_is_closed_with_1013_beyond_the_streaming_limit() {
    let settings = fixed_window("streaming", "2");
    let (app, env) = node(&pairs(&settings)).await;

    let mut first = WsClient::open(&app.address, "server", &env.server).await;
    let mut second = WsClient::open(&app.address, "client", &env.client).await;
    let mut third = WsClient::open(&app.address, "server", &env.server).await;

    first.expect_alive().await;
    second.expect_alive().await;
    assert_eq!(third.expect_close().await.0, 1013);
    assert_eq!(metric(&app, "vane_rate_limited_total", &[r#"policy="streaming""#]).await, 1.0);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_session_looping_data_sync_is_closed_with_1013() {
    let settings = fixed_window("data_sync", "3");
    let (app, env) = node(&pairs(&settings)).await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;

    for _ in 0..3 {
        ws.data_sync(json!({"timestamp": 0})).await;
        assert_eq!(ws.next_json().await["messageType"], "data-sync");
    }
    ws.data_sync(json!({"timestamp": 0})).await;

    assert_eq!(ws.expect_close().await.0, 1013);
    app.cleanup().await;
}

#[actix_web::test]
async fn a_session_resending_the_same_user_reports_it_once() {
    // Arrange
    let (app, env) = node(&[]).await;
    let mut ws = WsClient::open(&app.address, "client", &env.client).await;
    let user = |name: &str| json!({"keyId": "u1", "name": name, "customizedProperties": []});

    // Act: five syncs of one user, then one with a changed name.
    for _ in 0..5 {
        ws.data_sync(json!({"timestamp": 0, "user": user("Ann")})).await;
        ws.next_json().await;
    }
    let repeated = metric(&app, "vane_ingest_sightings_total", &[]).await;
    ws.data_sync(json!({"timestamp": 0, "user": user("Anne")})).await;
    ws.next_json().await;

    // Assert: every sync answered, the user handed to the end-user flow once per change.
    assert_eq!(repeated, 1.0);
    assert_eq!(metric(&app, "vane_ingest_sightings_total", &[]).await, 2.0);
    app.cleanup().await;
}
