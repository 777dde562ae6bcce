//! The shared cache in front of the database, in FeatBit's Redis layout (featbit-protocol.md §6.4) under a
//! configurable prefix: flags and segments as JSON strings with a per-environment index by `updatedAt`. Secrets are
//! not cached here: every node holds them all in memory ([`crate::access::SecretIndex`]). In embedded mode there is
//! no shared cache: every node's snapshots are in memory already, so [`Cache::none`] does nothing.
//!
//! The cache is never the source of truth: a Redis failure is logged and the caller falls back to the database;
//! catch-up always reads the database.

mod redis;

use uuid::Uuid;
use vane_schema::wire::{FeatureFlag, Segment};

pub use self::redis::{CacheError, RedisCache};
use crate::metrics::{attr, label, metrics};

/// The cache; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    /// Redis, in cluster mode.
    redis: Option<RedisCache>,
}

impl Cache {
    /// No shared cache (embedded mode).
    pub fn none() -> Self {
        Self { redis: None }
    }

    /// Redis.
    pub fn redis(redis: RedisCache) -> Self {
        Self { redis: Some(redis) }
    }

    /// The Redis cache, if configured.
    pub fn as_redis(&self) -> Option<&RedisCache> {
        self.redis.as_ref()
    }

    /// Writes a flag and its index entry (after the database commit).
    pub async fn put_flag(&self, flag: &FeatureFlag) {
        if let Some(r) = &self.redis {
            log_failure(r.put_flag(flag).await, "flag");
        }
    }

    /// Writes a segment and its index entry.
    pub async fn put_segment(&self, segment: &Segment) {
        if let Some(r) = &self.redis {
            log_failure(r.put_segment(segment).await, "segment");
        }
    }

    /// An environment's flags and segments from the cache, when it holds them (`None`: ask the database).
    pub async fn environment(&self, env_id: Uuid) -> Option<(Vec<FeatureFlag>, Vec<Segment>)> {
        let r = self.redis.as_ref()?;
        r.environment(env_id).await.inspect_err(|e| fell_back(e, "environment")).ok().flatten()
    }

    /// Stores a whole environment read from the database, and marks it complete.
    pub async fn put_environment(&self, env_id: Uuid, flags: &[FeatureFlag], segments: &[Segment]) {
        if let Some(r) = &self.redis {
            log_failure(r.put_environment(env_id, flags, segments).await, "environment");
        }
    }

    /// Repairs the cached copy of an environment from what the database holds (catch-up calls this), so writes the
    /// cache missed while Redis was unreachable, or lost with it, do not outlive the next catch-up.
    pub async fn reconcile_environment(&self, env_id: Uuid, flags: &[FeatureFlag], segments: &[Segment]) {
        let Some(r) = &self.redis else { return };
        match r.reconcile_environment(env_id, flags, segments).await {
            Ok(0) => {}
            Ok(repaired) => tracing::info!(env = %env_id, repaired, "cache repaired from the database"),
            Err(e) => log_failure(Err(e), "environment"),
        }
    }

    /// Whether the cache answers (always true without one).
    pub async fn is_healthy(&self) -> bool {
        match &self.redis {
            Some(r) => r.ping().await.is_ok(),
            None => true,
        }
    }
}

/// A Redis read failed and the caller goes to the database: `vane.cache.fallbacks`.
fn fell_back(e: &CacheError, what: &'static str) {
    tracing::debug!(error = %e, what, "cache read failed; reading the database");
    metrics().cache_fallbacks.add(1, &label(attr::KIND, what));
}

fn log_failure(result: Result<(), CacheError>, what: &str) {
    if let Err(e) = result {
        tracing::warn!(error = %e, what, "cache write failed; the database stays authoritative");
    }
}
