//! What the ingestion tests need from RabbitMQ beyond a vhost of their own ([`TestVhost`]): queue depths, and
//! cutting selected client connections. Everything goes through `rabbitmqctl` (no management plugin here), run
//! on the blocking pool so the test's actix runtime keeps driving the node meanwhile.

use std::process::Command;

use super::vhost::TestVhost;

/// Runs `rabbitmqctl` off the async thread and returns its stdout.
async fn rabbitmqctl(args: Vec<String>) -> String {
    let out = tokio::task::spawn_blocking(move || Command::new("rabbitmqctl").args(&args).output())
        .await
        .expect("blocking task")
        .expect("rabbitmqctl runs");
    assert!(out.status.success(), "rabbitmqctl: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Messages of `queue` in `vhost`: `(ready, unacknowledged)`; `(0, 0)` if the queue does not exist yet.
pub async fn queue_depth(vhost: &TestVhost, queue: &str) -> (u64, u64) {
    let args = ["-q", "list_queues", "-p", &vhost.name, "name", "messages_ready", "messages_unacknowledged"];
    let list = rabbitmqctl(args.iter().map(|a| a.to_string()).collect()).await;
    list.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&queue))
        .map(|cols| {
            let n = |i: usize| cols.get(i).and_then(|c| c.parse().ok()).unwrap_or(0);
            (n(1), n(2))
        })
        .unwrap_or((0, 0))
}

/// Closes every client connection of `vhost` whose client properties (which hold the connection name the client
/// chose) contain `name_part` ("" for all); returns how many.
pub async fn close_connections(vhost: &TestVhost, name_part: &str) -> usize {
    let pids = connections(vhost, name_part).await;
    for pid in &pids {
        rabbitmqctl(vec!["-q".into(), "close_connection".into(), pid.clone(), "closed by test".into()]).await;
    }
    pids.len()
}

/// The broker-side pids of `vhost`'s open connections whose client properties contain `name_part`.
pub async fn connections(vhost: &TestVhost, name_part: &str) -> Vec<String> {
    let args = ["-q", "list_connections", "pid", "vhost", "client_properties"];
    let list = rabbitmqctl(args.map(String::from).to_vec()).await;
    list.lines()
        .map(|l| l.split('\t').map(str::trim).collect::<Vec<_>>())
        .filter(|cols| cols.get(1) == Some(&vhost.name.as_str()) && cols.get(2).is_some_and(|p| p.contains(name_part)))
        .filter_map(|cols| cols.first().map(|pid| pid.to_string()))
        .collect()
}
