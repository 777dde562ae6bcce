//! A flood of random, well-formed secrets on every SDK entry point (polling, track, streaming) is refused from
//! memory: all 401 / 4003, and `vane.secret.lookups` shows no lookup went past the in-memory index.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;
use vane_schema::secret::generate;

use super::{metric, poll, secret_of};
use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;
use crate::helpers::sdk::WsClient;

const LOOKUPS: &str = "vane_secret_lookups_total";

#[actix_web::test]
async fn a_flood_of_random_secrets_is_refused_without_reaching_the_database() {
    let app = TestApp::spawn(TestDb::postgres().await, &[("VANE__DEMO__ENABLED", "false")]).await;
    let (status, env) = app.admin(Method::POST, "/environments", Some(json!({"key": "flood"}))).await;
    assert_eq!(status, 201);
    let server = secret_of(&env, "server");
    assert_eq!(poll(&app.http, &app.address, &server).await, 200, "a real secret works");
    let track = format!("{}/api/public/insight/track", app.address);
    let body = json!([{"user": {"keyId": "u"}, "variations": [], "metrics": []}]);
    for _ in 0..200 {
        let random = generate(Uuid::new_v4());
        assert_eq!(poll(&app.http, &app.address, &random).await, 401);
        let res = app.http.post(&track).header("Authorization", &random).json(&body).send().await.expect("answers");
        assert_eq!(res.status().as_u16(), 401);
    }
    for _ in 0..20 {
        let (code, _) = WsClient::open(&app.address, "server", &generate(Uuid::new_v4())).await.expect_close().await;
        assert_eq!(code, 4003);
    }
    let memory = metric(&app.http, &app.address, LOOKUPS, r#"source="memory""#).await;
    let store = metric(&app.http, &app.address, LOOKUPS, r#"source="store""#).await;
    assert!(memory >= 420.0, "every lookup answered from memory: {memory}");
    assert_eq!(store, 0.0, "no unknown secret of an unknown environment reached the database");

    // Unknown secrets of a real environment (its id is public in any client secret) cost at most one re-read of
    // that environment per window, however many arrive.
    let env_id: Uuid = env["id"].as_str().expect("id").parse().expect("uuid");
    for _ in 0..200 {
        assert_eq!(poll(&app.http, &app.address, &generate(env_id)).await, 401);
    }
    let store = metric(&app.http, &app.address, LOOKUPS, r#"source="store""#).await;
    assert!(store <= 1.0, "one re-read per window, not one per secret: {store}");
    app.cleanup().await;
}
