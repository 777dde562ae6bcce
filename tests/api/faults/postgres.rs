//! The test database's backends terminated and new connections refused (`pg_terminate_backend` plus
//! `ALLOW_CONNECTIONS false` on the test's own database only): what needs the database answers 503 / closes 1011
//! meanwhile, what is in memory keeps serving, and everything recovers without a restart once Postgres is back.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::helpers::app::TestApp;
use crate::helpers::cluster::string_flag;
use crate::helpers::database::{TestDb, postgres_base};
use crate::helpers::sdk::WsClient;
use crate::helpers::wait::eventually;

/// Refuses (or allows again) new connections to the test database; when refusing, terminates its backends.
async fn database_outage(db: &str, down: bool) {
    let admin = Database::connect(format!("{}/postgres", postgres_base())).await.expect("postgres reachable");
    admin.execute_unprepared(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS {}", !down)).await.expect("alter");
    if down {
        let kill = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        );
        admin.execute_unprepared(&kill).await.expect("terminate");
    }
    admin.close().await.ok();
}

async fn create_env(app: &TestApp, key: &str) -> (String, String) {
    let (status, env) = app.admin(Method::POST, "/environments", Some(json!({"key": key}))).await;
    assert_eq!(status, 201, "{env}");
    let server = env["secrets"].as_array().and_then(|s| s.iter().find(|s| s["type"] == "server")).expect("secret");
    (env["id"].as_str().expect("id").to_owned(), server["value"].as_str().expect("value").to_owned())
}

async fn latest_all(app: &TestApp, secret: &str) -> u16 {
    let url = format!("{}/api/public/sdk/server/latest-all", app.address);
    let res = app.http.get(url).header("authorization", secret).send().await.expect("answers");
    res.status().as_u16()
}

fn flag_value(frame: &Value) -> Option<&str> {
    frame["data"]["featureFlags"].as_array()?.iter().find(|f| f["key"] == "f")?["variations"][0]["value"].as_str()
}

#[actix_web::test]
async fn sdk_syncs_answer_unavailable_while_postgres_is_gone_and_recover_without_a_restart() {
    // Arrange: a node on its own database; env A loaded with a connected SDK session; env B never used yet.
    let db = TestDb::postgres().await;
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let app = TestApp::spawn(db, &[("VANE__DATABASE__ACQUIRE_TIMEOUT_SECONDS", "1")]).await;
    let (a, a_secret) = create_env(&app, "a").await;
    let (_, b_secret) = create_env(&app, "b").await;
    let flag_path = format!("/environments/{a}/feature-flags/f");
    assert_eq!(app.admin(Method::PUT, &flag_path, Some(string_flag("before"))).await.0, 201);
    let mut session = WsClient::open(&app.address, "server", &a_secret).await;
    session.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(flag_value(&session.next_json().await), Some("before"));

    // Act: Postgres drops every backend of the test database and refuses new ones.
    database_outage(&name, true).await;

    // Assert: the session of a loaded environment keeps syncing from memory ...
    session.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(flag_value(&session.next_json().await), Some("before"), "served from the in-memory snapshot");
    // ... while what needs the database is refused as retryable: a new SDK connection is closed with 1011, an HTTP
    // sync and a write answer 503.
    let mut refused = WsClient::open(&app.address, "server", &b_secret).await;
    assert_eq!(refused.expect_close().await.0, 1011);
    assert_eq!(latest_all(&app, &b_secret).await, 503);
    assert_eq!(app.admin(Method::PUT, &flag_path, Some(string_flag("during"))).await.0, 503);

    // Recovery: Postgres accepts connections again; the same process serves everything.
    database_outage(&name, false).await;
    eventually(Duration::from_secs(15), "HTTP syncs to recover", || async {
        (latest_all(&app, &b_secret).await == 200).then_some(())
    })
    .await;
    let mut recovered = WsClient::open(&app.address, "server", &b_secret).await;
    recovered.data_sync(json!({"timestamp": 0})).await;
    assert_eq!(recovered.next_json().await["data"]["eventType"], "full");
    assert_eq!(app.admin(Method::PUT, &flag_path, Some(string_flag("after"))).await.0, 200);
    assert_eq!(flag_value(&session.next_json().await), Some("after"), "the old session is pushed the change");
    app.cleanup().await;
}
