//! The local cluster's configuration files and a real failover behind Debian's nginx: SIGTERM the node holding a
//! real FeatBit SDK, the SDK reconnects through nginx to the other node, and a later flag change reaches it.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Node, WAIT, flag};
use crate::helpers::database::TestDb;
use crate::helpers::node_sdk::FlagWatcher;
use crate::helpers::vhost::TestVhost;
use crate::helpers::wait::eventually;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `scripts/cluster/<name>.in` with its placeholders filled, written to `dir/<name>`.
fn render(name: &str, dir: &Path, listen: u16, nodes: [&str; 2]) -> std::path::PathBuf {
    let template = std::fs::read_to_string(format!("{REPO}/scripts/cluster/{name}.in")).expect("template");
    let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout).expect("utf-8");
    let text = template
        .replace("@RUN_DIR@", dir.to_str().expect("utf-8"))
        .replace("@USER@", user.trim())
        .replace("@LISTEN@", &format!("127.0.0.1:{listen}"))
        .replace("@NODE_A@", nodes[0])
        .replace("@NODE_B@", nodes[1]);
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn check(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs (apt-get install nginx prometheus)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn nginx_configs_pass_nginx_t_and_prometheus_configs_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = render("nginx.conf", dir.path(), free_port(), ["127.0.0.1:1", "127.0.0.1:2"]);
    check(Command::new("nginx").arg("-t").arg("-c").arg(&local).arg("-p").arg(dir.path()));
    // The compose file's nginx.conf, with the compose service names (unresolvable here) replaced.
    let compose = std::fs::read_to_string(format!("{REPO}/docker/nginx.conf")).expect("docker/nginx.conf");
    let log = dir.path().join("access.log");
    let compose = compose.replace("vane-1:5100", "127.0.0.1:1").replace("vane-2:5100", "127.0.0.1:2");
    let compose_path = dir.path().join("compose-nginx.conf");
    std::fs::write(&compose_path, compose.replace("/dev/stdout", log.to_str().expect("utf-8"))).expect("write");
    let globals = format!("pid {0}/n.pid; error_log {0}/e.log;", dir.path().display());
    check(
        Command::new("nginx").arg("-t").arg("-c").arg(&compose_path).arg("-p").arg(dir.path()).args(["-g", &globals]),
    );
    for conf in [
        format!("{REPO}/docker/prometheus.yml"),
        render("prometheus.yml", dir.path(), 0, ["a:1", "b:2"]).display().to_string(),
    ] {
        check(Command::new("promtool").args(["check", "config", &conf]));
    }
    for nginx in [&local, &compose_path] {
        let text = std::fs::read_to_string(nginx).expect("read");
        let directives: String = text.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
        assert!(
            !["$request ", "$request_uri", "$args", "$query_string"].iter().any(|v| directives.contains(v)),
            "{text}"
        );
        assert!(directives.contains("worker_connections 20480;"));
    }
}

/// nginx from Debian's package, in the foreground, stopped on drop.
struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM to the master (fast shutdown): a SIGKILLed master would leave its workers holding the port.
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

async fn server_sessions(node: &Node) -> u64 {
    let (_, body) = node.get("/status").await;
    serde_json::from_str::<Value>(&body).expect("JSON")["sessions"]["server"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn sigterm_on_the_node_holding_an_sdk_moves_it_through_nginx_to_the_other_node() {
    // Arrange: two cluster nodes, nginx in front, a real node SDK connected through nginx.
    let (db, vhost) = (TestDb::postgres().await, TestVhost::create());
    let prefix = format!("t:{}:", Uuid::new_v4().simple());
    let url = vhost.url();
    let env = [
        ("VANE__DATABASE__URL", db.url.as_str()),
        ("VANE__BUS__AMQP_URL", url.as_str()),
        ("VANE__CACHE__REDIS_URL", "redis://127.0.0.1:6379"),
        ("VANE__CACHE__KEY_PREFIX", prefix.as_str()),
        ("VANE__SHUTDOWN__DRAIN_WINDOW_SECONDS", "1"),
    ];
    let (da, db_dir, ng) =
        (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    let a = Node::start(da.path(), &env);
    let b = Node::start(db_dir.path(), &env);
    let lb_port = free_port();
    let hosts = [a.base.trim_start_matches("http://"), b.base.trim_start_matches("http://")];
    let conf = render("nginx.conf", ng.path(), lb_port, hosts);
    let nginx = Nginx(
        Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(ng.path())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx"),
    );
    let lb = format!("http://127.0.0.1:{lb_port}");
    eventually(WAIT, "nginx answers", || async { reqwest::get(format!("{lb}/health/liveness")).await.ok() }).await;
    let (env_id, secret) = a.env("prod").await;
    let path = format!("/environments/{env_id}/feature-flags/checkout");
    a.admin(Method::PUT, &path, Some(flag(true))).await;
    let watcher = FlagWatcher::start(&lb, &secret, "checkout", "u1");
    assert_eq!(watcher.next_value(WAIT), "true");
    let holder_is_a = server_sessions(&a).await == 1;
    let (holder, other) = if holder_is_a { (a, b) } else { (b, a) };
    assert_eq!(server_sessions(&other).await, 0);

    // Act: SIGTERM the holder; the SDK gets 1001 and reconnects through nginx.
    let Node { process, .. } = holder;
    let status = tokio::task::spawn_blocking(move || process.terminate()).await.expect("joined");
    assert!(status.success(), "{status:?}");
    eventually(WAIT, "the SDK reconnected to the other node", || async {
        (server_sessions(&other).await == 1).then_some(())
    })
    .await;
    other.admin(Method::PATCH, &path, Some(json!({"isEnabled": false}))).await;

    // Assert: the later change reaches the SDK.
    assert_eq!(watcher.next_value(WAIT), "false");
    let access = std::fs::read_to_string(ng.path().join("nginx-access.log")).expect("access log");
    assert!(access.contains("GET /streaming"), "{access}");
    assert!(!access.contains("token="), "no token in the access log: {access}");

    drop((watcher, nginx, other));
    let redis = vane_actors::cache::RedisCache::new("redis://127.0.0.1:6379", &prefix).expect("redis");
    redis.delete_prefix().await.expect("redis cleanup");
    vhost.delete();
    db.cleanup().await;
}
