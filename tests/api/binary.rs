//! The real binary, started as a new user would: an empty directory, no configuration.

use std::time::Duration;

use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;

#[tokio::test]
async fn first_start_in_an_empty_directory_prints_demo_secrets_and_answers_liveness() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");

    // Act
    let mut vane = VaneProcess::start(dir.path(), &[]);
    let server = vane.wait_for_line("server secret", Duration::from_secs(60));
    let client = vane.wait_for_line("client secret", Duration::from_secs(5));
    vane.wait_for_line("admin token", Duration::from_secs(5));
    let port = vane.port_from_banner();
    let status = reqwest::get(format!("http://127.0.0.1:{port}/health/liveness")).await.expect("answers").status();

    // Assert
    assert_eq!(status, 200);
    for line in [server, client] {
        let secret = line.rsplit(' ').next().expect("secret at end of line");
        assert_eq!(secret.len(), 44, "{line}");
        vane_schema::secret::env_id(secret).expect("a FeatBit-format secret");
    }
    assert!(dir.path().join("vane-data/vane.db").exists(), "embedded SQLite file created under ./vane-data");
    assert!(vane.terminate().success(), "SIGTERM stops vane cleanly");

    // A second start reuses the database and creates no second demo environment.
    let mut again = VaneProcess::start(dir.path(), &[]);
    again.port_from_banner();
    assert!(!again.seen.iter().any(|l| l.contains("server secret")), "{:#?}", again.seen);
}

#[tokio::test]
async fn runs_against_postgres_when_database_url_says_so() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut vane = VaneProcess::start(dir.path(), &[("VANE__DATABASE__URL", &db.url)]);
    vane.wait_for_line("server secret", Duration::from_secs(60));
    let port = vane.port_from_banner();
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/readiness")).await.expect("answers");
    assert_eq!(ready.status(), 200);
    assert!(!dir.path().join("vane-data/vane.db").exists(), "no SQLite file in cluster storage mode");
    drop(vane);
    db.cleanup().await;
}

#[test]
fn an_invalid_setting_exits_non_zero_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vane"))
        .current_dir(dir.path())
        .env("VANE__DATABASE__URL", "mysql://nope")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("database.url"), "{stderr}");
}
