//! Secret rotation on one node: add, move, revoke; the revoked secret is refused at once and its sessions are
//! closed with 4003; the last secret of a type stays.

use reqwest::Method;
use serde_json::{Value, json};

use super::{poll, secret_of};
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;

async fn open_synced(base: &str, secret: &str) -> WsClient {
    let mut ws = WsClient::open(base, "server", secret).await;
    ws.data_sync(json!({"timestamp": 0})).await;
    let full = ws.next_json().await;
    assert_eq!(full["messageType"], "data-sync", "{full}");
    ws
}

#[actix_web::test]
async fn rotating_a_secret_closes_its_sessions_and_refuses_it() {
    let app = TestApp::spawn(TestDb::sqlite(), &[("VANE__DEMO__ENABLED", "false")]).await;
    let (_, env) = app.admin(Method::POST, "/environments", Some(json!({"key": "rot"}))).await;
    let (id, old) = (env["id"].as_str().expect("id").to_owned(), secret_of(&env, "server"));
    let mut session = open_synced(&app.address, &old).await;

    let (status, added) =
        app.admin(Method::POST, &format!("/environments/{id}/secrets"), Some(json!({"type": "server"}))).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["type"], "server");
    let new = added["value"].as_str().expect("value").to_owned();
    assert_eq!(poll(&app.http, &app.address, &new).await, 200, "the new secret works at once");
    let (_, listed) = app.admin(Method::GET, &format!("/environments/{id}"), None).await;
    assert_eq!(listed["secrets"].as_array().map(Vec::len), Some(3), "{listed}");
    session.expect_alive().await;

    let (status, _) = app.admin(Method::DELETE, &format!("/environments/{id}/secrets/{old}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(session.expect_close().await.0, 4003, "the session opened with the revoked secret is closed");
    assert_eq!(poll(&app.http, &app.address, &old).await, 401);
    assert_eq!(WsClient::open(&app.address, "server", &old).await.expect_close().await.0, 4003);
    open_synced(&app.address, &new).await.expect_alive().await;

    let (status, body) = app.admin(Method::DELETE, &format!("/environments/{id}/secrets/{new}"), None).await;
    assert_eq!(status, 409, "the last server secret stays: {body}");
    let (status, _) = app.admin(Method::DELETE, &format!("/environments/{id}/secrets/{old}"), None).await;
    assert_eq!(status, 404, "already revoked");
    for bad in [json!({"type": "relay"}), json!({}), Value::String("x".into())] {
        let (status, _) = app.admin(Method::POST, &format!("/environments/{id}/secrets"), Some(bad)).await;
        assert_eq!(status, 400);
    }
    let missing = uuid::Uuid::new_v4();
    let (status, _) =
        app.admin(Method::POST, &format!("/environments/{missing}/secrets"), Some(json!({"type": "client"}))).await;
    assert_eq!(status, 404);
    app.cleanup().await;
}
