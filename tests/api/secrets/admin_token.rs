//! Admin token rules: a generated token is never printed and never stored in plaintext (only its hash; the
//! token goes to a 0600 file), a plaintext token stored by an older version is replaced by its hash, and failed
//! attempts are limited per source address (429 + Retry-After).

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use reqwest::Method;
use vane_schema::entity::server_setting::ADMIN_TOKEN;

use crate::helpers::app::{ADMIN_TOKEN as TEST_TOKEN, TestApp};
use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;
use crate::helpers::seed;

async fn environments(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.get(format!("{base}/api/v1/environments")).bearer_auth(token).send().await.expect("answers")
}

/// Regression: the generated token was printed to stdout (container logs) and stored in plaintext.
#[tokio::test]
async fn a_generated_token_goes_to_a_private_file_and_only_its_hash_is_stored() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut vane =
        VaneProcess::start(dir.path(), &[("VANE__DATABASE__URL", &db.url), ("VANE__DEMO__ENABLED", "false")]);
    let line = vane.wait_for_line("admin token", Duration::from_secs(60));
    let port = vane.port_from_banner();
    let file = dir.path().join("vane-data/admin-token");
    assert!(line.contains("vane-data/admin-token"), "the path is printed: {line}");
    let token = std::fs::read_to_string(&file).expect("token file").trim().to_owned();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777, 0o600);
    assert!(!vane.seen.iter().any(|l| l.contains(&token)), "the token is never printed: {:#?}", vane.seen);
    let stored = seed::store(&db.url).await.setting(ADMIN_TOKEN).await.expect("reads").expect("stored");
    assert!(stored.starts_with("sha256:") && !stored.contains(&token), "{stored}");
    let (http, base) = (reqwest::Client::new(), format!("http://127.0.0.1:{port}"));
    assert_eq!(environments(&http, &base, &token).await.status(), 200);
    assert_eq!(environments(&http, &base, &stored).await.status(), 401, "the hash is not a token");
    drop(vane);
    db.cleanup().await;
}

#[actix_web::test]
async fn a_plaintext_token_from_an_older_version_keeps_working_and_is_replaced_by_its_hash() {
    let db = TestDb::sqlite();
    let store = seed::store(&db.url).await;
    let legacy = "legacy-plaintext-admin-token-0123456789";
    store.put_setting(ADMIN_TOKEN, legacy).await.expect("stores");
    // No token configured: the stored one is in force.
    let app = TestApp::spawn(db, &[("VANE__ADMIN__TOKEN", "")]).await;
    assert_eq!(environments(&app.http, &app.address, legacy).await.status(), 200);
    let stored = store.setting(ADMIN_TOKEN).await.expect("reads").expect("stored");
    assert!(stored.starts_with("sha256:") && !stored.contains(legacy), "{stored}");
    app.cleanup().await;
}

#[actix_web::test]
async fn failed_admin_logins_are_limited_per_address() {
    let app = TestApp::spawn(TestDb::sqlite(), &[("VANE__ADMIN__MAX_FAILURES", "3")]).await;
    for _ in 0..3 {
        assert_eq!(environments(&app.http, &app.address, "wrong-token").await.status(), 401);
    }
    for token in ["wrong-token", TEST_TOKEN] {
        let res = environments(&app.http, &app.address, token).await;
        assert_eq!(res.status(), 429, "locked out, even with the right token");
        let retry: u64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
    }
    let (status, _) = app.admin(Method::GET, "/environments", None).await;
    assert_eq!(status, 429, "the lock is per address, and this test has one");
    app.cleanup().await;
}
