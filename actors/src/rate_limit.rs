//! Per-environment rate limits (`[rate_limits]`), off by default: one policy each for SDK polling, insights
//! (track) and streaming connects, plus a per-session `data-sync` policy ([`Meter`], held by the session).
//!
//! A policy is a fixed window (`limit` requests per `window_seconds`) or a token bucket (`rate` per second, up to
//! `burst` at once), counted per environment. With `shared = true` (needs `cache.redis_url`) the count lives in
//! Redis, one atomic Lua script per check, so the limit holds for the whole cluster; when Redis fails or is slow
//! the node falls back to its own count for a while ([`REDIS_BACKOFF`]) and never fails the request.
//!
//! Checks run after the secret was accepted, so the local state holds one entry per (policy, known environment).

mod meter;
mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use uuid::Uuid;

pub use self::meter::Meter;
use crate::cache::{CacheError, RedisCache};
use crate::metrics::{attr, label, metrics};

/// After a Redis failure, checks stay local this long before Redis is tried again.
const REDIS_BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait for Redis before a check falls back to the local count.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// How a policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// No limit.
    #[default]
    Off,
    /// `limit` requests per `window_seconds`, the window starting at its first request.
    FixedWindow,
    /// `rate` requests per second on average, up to `burst` at once.
    TokenBucket,
}

/// One policy (`[rate_limits.<name>]`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// `off`, `fixed_window` or `token_bucket`.
    pub algorithm: Algorithm,
    /// Fixed window: requests per window.
    pub limit: u32,
    /// Fixed window: its length in seconds.
    pub window_seconds: u64,
    /// Token bucket: tokens added per second.
    pub rate: f64,
    /// Token bucket: most tokens held (requests at once).
    pub burst: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self { algorithm: Algorithm::Off, limit: 100, window_seconds: 1, rate: 10.0, burst: 100 }
    }
}

impl PolicyConfig {
    /// Whether this policy limits anything.
    pub fn is_on(&self) -> bool {
        self.algorithm != Algorithm::Off
    }

    /// Why the values cannot work, if they cannot (checked when settings load).
    pub fn problem(&self) -> Option<&'static str> {
        match self.algorithm {
            Algorithm::Off => None,
            Algorithm::FixedWindow if self.limit == 0 || self.window_seconds == 0 => {
                Some("fixed_window needs limit ≥ 1 and window_seconds ≥ 1")
            }
            Algorithm::TokenBucket if !(self.rate > 0.0 && self.rate.is_finite()) || self.burst == 0 => {
                Some("token_bucket needs rate > 0 and burst ≥ 1")
            }
            _ => None,
        }
    }
}

/// `[rate_limits]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Count in Redis, for the whole cluster (needs `cache.redis_url`).
    pub shared: bool,
    /// `GET/POST …/sdk/*/latest-all` and `POST …/featureflag/evaluate`, per environment.
    pub polling: PolicyConfig,
    /// `POST …/insight/track`, per environment.
    pub insights: PolicyConfig,
    /// Accepted `/streaming` connects, per environment.
    pub streaming: PolicyConfig,
    /// `data-sync` frames per session (never shared).
    pub data_sync: PolicyConfig,
}

/// The per-environment policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// SDK polling and evaluation.
    Polling,
    /// Track calls.
    Insights,
    /// Streaming connects.
    Streaming,
}

impl Policy {
    /// The `policy` attribute of `vane.rate_limited`, and the Redis key part.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::Insights => "insights",
            Self::Streaming => "streaming",
        }
    }
}

/// A request over its limit; retry after this long (at least a millisecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded, retry after {retry_after:?}")]
pub struct Limited {
    /// When the next request would be allowed.
    pub retry_after: Duration,
}

/// The node's per-environment limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    config: RateLimitsConfig,
    /// Local counts (std mutex: held for one arithmetic step, never across an await).
    local: Mutex<HashMap<(Policy, Uuid), Meter>>,
    /// Set when `shared`.
    redis: Option<RedisCache>,
    /// Until when Redis is skipped after a failure.
    redis_down_until: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `config`; `redis` is used only when `config.shared`.
    pub fn new(config: RateLimitsConfig, redis: Option<RedisCache>) -> Self {
        let redis = redis.filter(|_| config.shared);
        let inner = Inner { config, local: Mutex::default(), redis, redis_down_until: Mutex::default() };
        Self { inner: Arc::new(inner) }
    }

    /// Counts one request of `env_id` under `policy`; `Err` when it is over the limit (counted in
    /// `vane.rate_limited`).
    pub async fn check(&self, policy: Policy, env_id: Uuid) -> Result<(), Limited> {
        let config = self.policy(policy);
        if !config.is_on() {
            return Ok(());
        }
        let result = match self.shared(policy, env_id, &config).await {
            Some(result) => result,
            None => self.local(policy, env_id, &config),
        };
        if result.is_err() {
            metrics().rate_limited.add(1, &label(attr::POLICY, policy.as_str()));
        }
        result
    }

    fn policy(&self, policy: Policy) -> PolicyConfig {
        let c = &self.inner.config;
        match policy {
            Policy::Polling => c.polling,
            Policy::Insights => c.insights,
            Policy::Streaming => c.streaming,
        }
    }

    fn local(&self, policy: Policy, env_id: Uuid, config: &PolicyConfig) -> Result<(), Limited> {
        let now = Instant::now();
        let mut local = self.inner.local.lock().unwrap_or_else(PoisonError::into_inner);
        let meter = local.entry((policy, env_id)).or_insert_with(|| Meter::new(config, now));
        meter.take(config, now).map_err(|retry_after| Limited { retry_after })
    }

    /// The Redis verdict, or `None` to count locally (not shared, or Redis failing).
    async fn shared(&self, policy: Policy, env_id: Uuid, config: &PolicyConfig) -> Option<Result<(), Limited>> {
        let redis = self.inner.redis.as_ref()?;
        let down = || self.inner.redis_down_until.lock().unwrap_or_else(PoisonError::into_inner);
        if down().is_some_and(|until| Instant::now() < until) {
            return None;
        }
        let key = redis.key(&format!("rate:{}:{}", policy.as_str(), env_id.simple()));
        let outcome = tokio::time::timeout(REDIS_TIMEOUT, shared::take(redis, &key, config)).await;
        match outcome.unwrap_or(Err(CacheError::Timeout)) {
            Ok(verdict) => Some(verdict.map_err(|retry_after| Limited { retry_after })),
            Err(e) => {
                tracing::warn!(error = %e, policy = policy.as_str(), "shared rate limit unavailable; counting locally");
                metrics().cache_fallbacks.add(1, &label(attr::KIND, "rate_limit"));
                *down() = Some(Instant::now() + REDIS_BACKOFF);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
