//! Several real `vane` processes sharing one test's Postgres database, RabbitMQ vhost and Redis key prefix (on the
//! shared Redis unless the test brings its own server).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::database::TestDb;
use super::process::VaneProcess;
use super::sdk::WsClient;
use super::vhost::TestVhost;
use super::wait::eventually;

/// The management token of cluster nodes.
pub const TOKEN: &str = "cluster-test-admin-token-0123456789abcdef";
/// The shared Redis.
pub const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

/// Shared infrastructure of one test, and its nodes (`None`: killed).
pub struct Cluster {
    /// The test's database.
    pub db: TestDb,
    /// The test's vhost.
    pub vhost: TestVhost,
    /// The test's Redis key prefix.
    pub prefix: String,
    /// The Redis the nodes use.
    pub redis_url: String,
    /// Extra `VANE__…` settings of every node.
    extra: Vec<(String, String)>,
    nodes: Vec<(Option<VaneProcess>, String)>,
    /// No pooled keep-alive connections: a node may close an idle one just as the test reuses it.
    pub http: reqwest::Client,
}

impl Cluster {
    /// `nodes` nodes on the shared Redis.
    pub async fn start(nodes: usize) -> Self {
        Self::start_with(nodes, SHARED_REDIS, &[]).await
    }

    /// `nodes` nodes on `redis_url`, each with the `extra` settings.
    pub async fn start_with(nodes: usize, redis_url: &str, extra: &[(&str, &str)]) -> Self {
        let (db, vhost) = (TestDb::postgres().await, TestVhost::create());
        let prefix = format!("t:{}:", Uuid::new_v4().simple());
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
        let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut cluster = Self { db, vhost, prefix, redis_url: redis_url.to_owned(), extra, nodes: Vec::new(), http };
        for _ in 0..nodes {
            cluster.add_node();
        }
        cluster
    }

    /// Starts one more node; returns its index.
    pub fn add_node(&mut self) -> usize {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = self.vhost.url();
        let mut env = vec![
            ("VANE__DATABASE__URL", self.db.url.as_str()),
            ("VANE__BUS__AMQP_URL", url.as_str()),
            ("VANE__CACHE__REDIS_URL", self.redis_url.as_str()),
            ("VANE__CACHE__KEY_PREFIX", self.prefix.as_str()),
            ("VANE__ADMIN__TOKEN", TOKEN),
            ("VANE__DEMO__ENABLED", "false"),
        ];
        env.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut node = VaneProcess::start(dir.path(), &env);
        let base = format!("http://127.0.0.1:{}", node.port_from_banner());
        self.nodes.push((Some(node), base));
        self.nodes.len() - 1
    }

    /// `http://127.0.0.1:PORT` of a node.
    pub fn base(&self, node: usize) -> &str {
        &self.nodes[node].1
    }

    /// SIGKILLs a node.
    pub fn kill(&mut self, node: usize) {
        self.nodes[node].0.take().expect("running").kill();
    }

    /// A management API request that must succeed; returns the JSON body (`null` if none).
    pub async fn admin(&self, node: usize, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.base(node))).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("answers");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }

    /// Creates an environment on node 0 and waits until every node accepts its secrets; returns its id, server
    /// secret and client secret.
    pub async fn env(&self, key: &str) -> (String, String, String) {
        let env = self.admin(0, Method::POST, "/environments", Some(json!({"key": key}))).await;
        let secret = |kind: &str| {
            let s = env["secrets"].as_array().and_then(|s| s.iter().find(|s| s["type"] == kind)).expect("secret");
            s["value"].as_str().expect("value").to_owned()
        };
        let (id, server, client) = (env["id"].as_str().expect("id").to_owned(), secret("server"), secret("client"));
        // Node 0 indexed the secrets before its 201; the others learn them from the bus a moment later, and a
        // session opened there first would be refused with 4003.
        self.wait_secret_everywhere(&server).await;
        (id, server, client)
    }

    /// Waits until every running node accepts `server_secret` (a secret created through one node reaches the
    /// others with the change bus, milliseconds later). Probes by streaming, so polling limits are not consumed.
    async fn wait_secret_everywhere(&self, server_secret: &str) {
        for (i, (node, _)) in self.nodes.iter().enumerate() {
            if node.is_some() {
                eventually(Duration::from_secs(10), "every node to know the secret", || async {
                    WsClient::accepted(self.base(i), "server", server_secret).await.then_some(())
                })
                .await;
            }
        }
    }

    /// The node's readiness `status` (`ready`, `degraded`, `stale`, `draining`).
    pub async fn readiness(&self, node: usize) -> String {
        let res = self.http.get(format!("{}/health/readiness", self.base(node))).send().await.expect("answers");
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        body["status"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits until every running node reports `ready` (database, bus, cache and ingestion up).
    pub async fn wait_healthy(&self, within: Duration) {
        for (i, (node, _)) in self.nodes.iter().enumerate() {
            if node.is_some() {
                eventually(within, "the node to be healthy", || async {
                    (self.readiness(i).await == "ready").then_some(())
                })
                .await;
            }
        }
    }

    /// Stops the nodes and removes the test's database, vhost and Redis keys.
    pub async fn cleanup(self) {
        let Self { db, vhost, prefix, nodes, redis_url, .. } = self;
        drop(nodes);
        if let Ok(redis) = vane_actors::cache::RedisCache::new(&redis_url, &prefix) {
            let _ = redis.delete_prefix().await;
        }
        vhost.delete();
        db.cleanup().await;
    }
}

/// A string flag serving `value` to everyone.
pub fn string_flag(value: &str) -> Value {
    json!({
        "name": "f", "variationType": "string", "isEnabled": true, "disabledVariationId": "off",
        "variations": [{"id": "on", "value": value}, {"id": "off", "value": "off"}],
        "fallthrough": {"includedInExpt": true, "variations": [{"id": "on", "rollout": [0, 1], "exptRollout": 1}]}
    })
}
