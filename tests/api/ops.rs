//! Operating a real `vane` process: `/metrics` after real SDK traffic, readiness and `/status`, the SIGTERM drain.

mod balancer;
mod drain;
mod metrics;
mod readiness;
mod recovery;
mod startup;
mod traces;

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::process::VaneProcess;

const TOKEN: &str = "ops-test-admin-token-0123456789abcdefghij";

/// A real node and an HTTP client for it.
struct Node {
    process: VaneProcess,
    base: String,
    http: reqwest::Client,
}

impl Node {
    /// Starts `vane` in `dir` (embedded unless `env` says otherwise) without the demo environment.
    fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut all = vec![("VANE__ADMIN__TOKEN", TOKEN), ("VANE__DEMO__ENABLED", "false")];
        all.extend_from_slice(env);
        let mut process = VaneProcess::start(dir, &all);
        let base = format!("http://127.0.0.1:{}", process.port_from_banner());
        Self { process, base, http: reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client") }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("answers");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap_or(Value::Null)
    }

    /// A new environment's id and server secret.
    async fn env(&self, key: &str) -> (String, String) {
        let env = self.admin(Method::POST, "/environments", Some(json!({"key": key}))).await;
        let secrets = env["secrets"].as_array().expect("secrets");
        let server = secrets.iter().find(|s| s["type"] == "server").expect("server secret");
        (env["id"].as_str().expect("id").to_owned(), server["value"].as_str().expect("value").to_owned())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.expect("answers");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    async fn scrape(&self) -> Scrape {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200);
        Scrape(text)
    }
}

/// A `/metrics` body.
pub(crate) struct Scrape(pub(crate) String);

impl Scrape {
    /// The sum of every sample of `name` whose labels contain each of `labels` (`key="value"`).
    pub(crate) fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
                (metric == name && labels.iter().all(|want| rest.contains(want))).then(|| value.parse::<f64>().ok())?
            })
            .sum()
    }

    /// Whether any series of `name` exists.
    fn has(&self, name: &str) -> bool {
        self.0.lines().any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
    }
}

fn flag(enabled: bool) -> Value {
    json!({
        "name": "f", "variationType": "boolean", "isEnabled": enabled, "disabledVariationId": "off",
        "variations": [{"id": "on", "value": "true"}, {"id": "off", "value": "false"}],
        "rules": [],
        "fallthrough": {"includedInExpt": true, "variations": [{"id": "on", "rollout": [0, 1], "exptRollout": 1}]}
    })
}

/// How long a node gets to answer anything in these tests.
const WAIT: Duration = Duration::from_secs(20);
