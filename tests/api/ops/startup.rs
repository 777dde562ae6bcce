//! Starting nodes: two at the same instant on an empty Postgres database both come up (the start-up advisory
//! lock), and the operator's CLI (`ready`, `health`, `config`, `VANE_CONFIG`, `serve --no-migrate`).

use std::process::Command;
use std::time::Duration;

use super::Node;
use crate::helpers::database::TestDb;
use crate::helpers::process::VaneProcess;

fn vane(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vane"));
    cmd.args(args).env_remove("VANE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("vane runs")
}

#[tokio::test]
async fn two_nodes_started_together_on_an_empty_database_both_come_up_with_one_demo_environment() {
    // Arrange: an empty database (no migrations applied).
    let db = TestDb::postgres().await;
    let (a, b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let env = [("VANE__DATABASE__URL", db.url.as_str())];

    // Act: both at once, demo enabled.
    let (mut first, mut second) = (VaneProcess::start(a.path(), &env), VaneProcess::start(b.path(), &env));

    // Assert: both listen; exactly one printed the demo secrets.
    first.port_from_banner();
    second.port_from_banner();
    let demo = [&first, &second].iter().filter(|p| p.seen.iter().any(|l| l.contains("server secret"))).count();
    assert_eq!(demo, 1, "{:#?}\n{:#?}", first.seen, second.seen);
    drop((first, second));
    db.cleanup().await;
}

#[tokio::test]
async fn ready_and_health_answer_for_a_running_node_and_fail_for_a_dead_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(dir.path(), &[]);
    let ready = vane(&["ready", "--url", &node.base], &[]);
    assert_eq!(ready.status.code(), Some(0));
    assert!(ready.stdout.is_empty());
    let health = vane(&["health", "--url", &node.base], &[]);
    assert_eq!(health.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&health.stdout).contains(r#""status":"ready""#));
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    assert_eq!(vane(&["ready", "--url", &format!("http://{free}")], &[]).status.code(), Some(1));
}

#[test]
fn config_prints_effective_settings_from_vane_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("vane.toml");
    std::fs::write(&file, "[http]\naddr = \"127.0.0.1:5999\"\n").expect("write");
    let out = vane(
        &["config"],
        &[
            ("VANE_CONFIG", file.to_str().expect("utf-8")),
            ("VANE__DATABASE__URL", "postgres://u:hunter2-db@127.0.0.1/x"),
            ("VANE__ADMIN__TOKEN", "hunter2-admin-token-0123456789abcdefghij"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("127.0.0.1:5999"), "the file named by VANE_CONFIG applies: {text}");
    assert!(!text.contains("hunter2"), "secrets redacted: {text}");
}

#[tokio::test]
async fn serve_no_migrate_refuses_a_database_with_pending_migrations() {
    let db = TestDb::postgres().await;
    let out = tokio::task::spawn_blocking({
        let url = db.url.clone();
        move || vane(&["serve", "--no-migrate"], &[("VANE__DATABASE__URL", &url), ("VANE__HTTP__ADDR", "127.0.0.1:0")])
    });
    let out = tokio::time::timeout(Duration::from_secs(60), out).await.expect("exits").expect("joined");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pending migrations"));
    db.cleanup().await;
}
