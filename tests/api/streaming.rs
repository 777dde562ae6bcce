//! `/streaming`: every protocol path and every bad input, against an in-process node.

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use vane_schema::secret::{ConnectionToken, generate};

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::{WsClient, token};
use crate::helpers::seed::{self, TestEnv};

async fn app_with_flags() -> (TestApp, TestEnv) {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    let segment = seed::segment(env.id, &["vip-user"]);
    store.upsert_segment(&segment).await.expect("segment");
    store.upsert_flag(&seed::bool_flag(env.id, "bool-flag")).await.expect("flag");
    store.upsert_flag(&seed::color_flag(env.id, "color", segment.id)).await.expect("flag");
    (TestApp::spawn(db, &[]).await, env)
}

fn keys(payload: &Value) -> Vec<String> {
    let mut keys: Vec<String> = payload["featureFlags"]
        .as_array()
        .expect("featureFlags")
        .iter()
        .map(|f| f.get("key").or_else(|| f.get("id")).and_then(Value::as_str).expect("key").to_owned())
        .collect();
    keys.sort();
    keys
}

fn client_value<'a>(payload: &'a Value, key: &str) -> &'a Value {
    let flags = payload["featureFlags"].as_array().expect("featureFlags");
    let flag = flags.iter().find(|f| f["id"] == key).unwrap_or_else(|| panic!("{key} in {payload}"));
    &flag["variation"]
}

#[actix_web::test]
async fn server_sdk_gets_a_full_sync_of_raw_flags_and_segments() {
    let (app, env) = app_with_flags().await;
    for data in [json!({"timestamp": 0}), json!({}), json!({"timestamp": null}), Value::Null] {
        let mut ws = WsClient::open(&app.address, "server", &env.server).await;
        ws.data_sync(data.clone()).await;
        let frame = ws.next_json().await;
        assert_eq!(frame["messageType"], "data-sync", "{data}");
        assert_eq!(frame["data"]["eventType"], "full", "{data}");
        assert_eq!(keys(&frame["data"]), ["bool-flag", "color"]);
        assert_eq!(frame["data"]["segments"].as_array().map(Vec::len), Some(1));
        let flag = &frame["data"]["featureFlags"][0];
        assert!(flag["updatedAt"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "{flag}");
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn patch_returns_only_what_changed_strictly_after_the_timestamp_in_ms() {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    store.upsert_flag(&seed::at(seed::bool_flag(env.id, "old"), "2024-01-02T03:04:05.100Z")).await.expect("flag");
    store.upsert_flag(&seed::at(seed::bool_flag(env.id, "new"), "2024-01-02T03:04:05.101Z")).await.expect("flag");
    let app = TestApp::spawn(db, &[]).await;
    let boundary = 1_704_164_645_100i64; // 2024-01-02T03:04:05.100Z

    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    ws.data_sync(json!({"timestamp": boundary})).await;
    let patch = ws.next_json().await;
    assert_eq!(patch["data"]["eventType"], "patch");
    assert_eq!(keys(&patch["data"]), ["new"], "strict > at ms precision");
    assert_eq!(patch["data"]["segments"], json!([]));

    // Nothing newer: still a reply (SDKs become ready on it), with both arrays present.
    ws.data_sync(json!({"timestamp": boundary + 1})).await;
    let empty = ws.next_json().await;
    assert_eq!(empty["data"], json!({"eventType": "patch", "featureFlags": [], "segments": []}));
    app.cleanup().await;
}

#[actix_web::test]
async fn client_sdk_gets_flags_evaluated_for_its_user_and_identify_switches_users() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "client", &env.client).await;
    let user = |key: &str, country: &str| json!({"keyId": key, "name": "N", "customizedProperties": [{"name": "country", "value": country}]});

    ws.data_sync(json!({"timestamp": 0, "user": user("u1", "us")})).await;
    let first = ws.next_json().await["data"].clone();
    assert_eq!(first["userKeyId"], "u1");
    assert_eq!(first["eventType"], "full");
    assert!(first.get("segments").is_none(), "client payloads have no segments");
    assert_eq!(client_value(&first, "bool-flag"), "true");
    assert_eq!(client_value(&first, "color"), "green");
    let color = first["featureFlags"].as_array().and_then(|f| f.iter().find(|f| f["id"] == "color")).expect("color");
    assert_eq!(color["matchReason"], "US rule");
    assert_eq!(color["variationType"], "string");
    assert_eq!(color["variationOptions"].as_array().map(Vec::len), Some(3));
    assert!(color["variationOptions"][0].get("name").is_none(), "options carry only id and value");

    // identify(): a new data-sync on the same socket replaces the user.
    ws.data_sync(json!({"timestamp": 0, "user": user("vip-user", "fr")})).await;
    let second = ws.next_json().await["data"].clone();
    assert_eq!(second["userKeyId"], "vip-user");
    assert_eq!(client_value(&second, "color"), "gold");
    ws.data_sync(json!({"timestamp": 0, "user": user("targeted-user", "fr")})).await;
    let third = ws.next_json().await["data"].clone();
    assert_eq!(client_value(&third, "bool-flag"), "false");
    assert_eq!(client_value(&third, "color"), "blue");
    app.cleanup().await;
}

#[actix_web::test]
async fn client_data_sync_without_a_valid_user_gets_no_reply_and_keeps_the_socket() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "client", &env.client).await;
    for data in [json!({"timestamp": 0}), json!({"user": {"keyId": "  "}}), json!({"user": {"name": "x"}})] {
        ws.data_sync(data).await;
    }
    ws.expect_alive().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn ping_gets_the_exact_pong_and_echo_echoes() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    for ping in [r#"{"messageType":"ping","data":null}"#, r#"{"messageType": "ping", "data": {}}"#] {
        ws.send_text(ping).await;
        assert_eq!(ws.next_text().await, r#"{"messageType":"pong","data":{}}"#);
    }
    ws.send_text(r#"{"messageType":"echo","data":{"n":[1,"two"]}}"#).await;
    assert_eq!(ws.next_text().await, r#"{"messageType":"echo","data":{"n":[1,"two"]}}"#);
    app.cleanup().await;
}

#[actix_web::test]
async fn garbage_frames_are_ignored_and_the_connection_stays_open() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    for text in [
        "",
        "nonsense",
        "[1,2]",
        r#"{"messageType":"ping"}"#,
        r#"{"data":{}}"#,
        r#"{"messageType":"nope","data":1}"#,
        r#"{"messageType":"data-sync","data":{"timestamp":"soon","user":7}}"#,
    ] {
        ws.send_text(text).await;
    }
    ws.send_raw(Message::binary(vec![0u8, 1, 2])).await;
    ws.expect_alive().await;
    app.cleanup().await;
}

#[actix_web::test]
async fn oversized_frames_close_with_1009() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    ws.send_text(&format!(r#"{{"messageType":"echo","data":"{}"}}"#, "x".repeat(70_000))).await;
    assert_eq!(ws.expect_close().await.0, 1009);
    app.cleanup().await;
}

#[actix_web::test]
async fn invalid_requests_are_accepted_then_closed_with_4003() {
    let (app, env) = app_with_flags().await;
    let other_env_secret = generate(uuid::Uuid::new_v4());
    let cases = [
        ("wrong type", format!("type=relay&token={}", token(&env.server, 0))),
        ("bad version", format!("type=server&version=3&token={}", token(&env.server, 0))),
        ("missing token", "type=server".to_owned()),
        ("garbage token", "type=server&token=QQQQS123".to_owned()),
        ("expired token", format!("type=server&token={}", token(&env.server, -31_000))),
        ("token from the future", format!("type=server&token={}", token(&env.server, 31_000))),
        ("unknown secret", format!("type=server&token={}", token(&other_env_secret, 0))),
        ("unknown secret of a real env", format!("type=server&token={}", token(&generate(env.id), 0))),
        ("server secret on a client connection", format!("type=client&token={}", token(&env.server, 0))),
        ("client secret on a server connection", format!("type=server&token={}", token(&env.client, 0))),
    ];
    for (case, query) in cases {
        let mut ws = WsClient::connect(&app.address, &query).await;
        assert_eq!(ws.expect_close().await, (4003, "invalid request, close by server".to_owned()), "{case}");
    }
    // Within the window, skew is fine both ways; version 1 and 2 are accepted.
    for query in [
        format!("type=server&token={}", token(&env.server, -25_000)),
        format!(
            "TYPE=server&Version=2&token={}",
            ConnectionToken::build(&env.server, chrono::Utc::now().timestamp_millis() + 25_000, 30)
        ),
    ] {
        WsClient::connect(&app.address, &query).await.expect_alive().await;
    }
    app.cleanup().await;
}

#[actix_web::test]
async fn a_peer_close_is_echoed() {
    let (app, env) = app_with_flags().await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    let frame = CloseFrame { code: 4003.into(), reason: "The client is closed by user".into() };
    ws.send_raw(Message::Close(Some(frame))).await;
    assert_eq!(ws.expect_close().await.0, 4003);
    app.cleanup().await;
}

/// Secrets are checked from memory: with the database gone under the running node, a well-formed secret it does
/// not hold is refused with 4003 (not a store error, 1011), and a secret it holds still opens a session.
#[actix_web::test]
async fn secret_checks_do_not_need_the_database() {
    let db = TestDb::postgres().await;
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    store.connection().clone().close().await.ok();
    let app = TestApp::spawn(db, &[]).await;
    app.db.drop_now().await;
    let mut unknown = WsClient::open(&app.address, "server", &generate(env.id)).await;
    assert_eq!(unknown.expect_close().await.0, 4003);
    let mut known = WsClient::open(&app.address, "server", &env.server).await;
    known.expect_alive().await;
}

#[actix_web::test]
async fn an_idle_session_is_closed_after_the_client_timeout() {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let env = seed::env(&store).await;
    let app = TestApp::spawn(db, &[("VANE__STREAMING__CLIENT_TIMEOUT_SECONDS", "1")]).await;
    let mut ws = WsClient::open(&app.address, "server", &env.server).await;
    ws.expect_alive().await; // activity resets the clock; then nothing more is sent
    assert_eq!(ws.expect_close().await, (1000, "idle timeout, close by server".to_owned()));
    app.cleanup().await;
}
