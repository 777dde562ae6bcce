//! The management API as the benchmark uses it: a throw-away environment per run, flags and segments put into it,
//! deleted at the end.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::sdk::secret_of;

/// Tries of one management call answered 503.
const RETRIES: usize = 10;

/// Why one call failed.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("service unavailable")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// A management API client for one node.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// The environment a run works in.
pub struct Env {
    /// Its id.
    pub id: String,
    /// Server secret.
    pub server: String,
    /// Client secret.
    pub client: String,
}

impl Admin {
    /// A client for `base` (`http://127.0.0.1:5100`) with the node's admin token.
    pub fn new(base: &str, token: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.trim_end_matches('/').into(), token: token.into() }
    }

    /// One call; a 503 (store busy, e.g. SQLite under concurrent writes) is retried with backoff a few times,
    /// any other non-2xx answer is an error carrying the body.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut backoff = Duration::from_millis(20);
        for _ in 0..RETRIES {
            match self.call_once(method.clone(), path, body.clone()).await {
                Err(Error::Busy) => tokio::time::sleep(backoff).await,
                other => return other.map_err(anyhow::Error::from),
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
        bail!("{path}: still unavailable after {RETRIES} tries")
    }

    async fn call_once(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Error> {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match status {
            s if s.is_success() => Ok(body),
            reqwest::StatusCode::SERVICE_UNAVAILABLE => Err(Error::Busy),
            _ => Err(Error::Failed(anyhow::anyhow!("{path}: {status} {body}"))),
        }
    }

    /// Creates an environment named after this process and `scenario`.
    pub async fn create_env(&self, scenario: &str) -> anyhow::Result<Env> {
        let key = format!("bench-{scenario}-{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
        let env = self.call(reqwest::Method::POST, "/environments", Some(json!({"key": key}))).await?;
        let id = env["id"].as_str().context("environment id")?.to_owned();
        Ok(Env { id, server: secret_of(&env, "server")?, client: secret_of(&env, "client")? })
    }

    /// Puts `flags` (`(key, body)`) with `concurrency` calls in flight.
    pub async fn put_flags(&self, env: &Env, flags: Vec<(String, Value)>, concurrency: usize) -> anyhow::Result<()> {
        let results: Vec<anyhow::Result<Value>> = futures_util::stream::iter(flags)
            .map(|(key, body)| {
                let path = format!("/environments/{}/feature-flags/{key}", env.id);
                async move { self.call(reqwest::Method::PUT, &path, Some(body)).await }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        results.into_iter().try_for_each(|r| r.map(drop))
    }

    /// Puts one segment.
    pub async fn put_segment(&self, env: &Env, id: &str, body: Value) -> anyhow::Result<()> {
        self.call(reqwest::Method::PUT, &format!("/environments/{}/segments/{id}", env.id), Some(body)).await.map(drop)
    }

    /// Deletes the environment (best effort: the run's result does not depend on it).
    pub async fn delete_env(&self, env: &Env) {
        if let Err(e) = self.call(reqwest::Method::DELETE, &format!("/environments/{}", env.id), None).await {
            eprintln!("could not delete environment {}: {e:#}", env.id);
        }
    }
}
