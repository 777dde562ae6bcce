//! Redis access through deadpool-redis, with every key under the configured prefix.

use std::time::Duration;

use deadpool_redis::redis::{AsyncCommands, pipe};
use deadpool_redis::{Config, Pool, Runtime};
use uuid::Uuid;
use vane_schema::wire::time::unix_ms;
use vane_schema::wire::{FeatureFlag, Segment};

/// Bound on every Redis round trip, so a hung Redis degrades to the database instead of stalling requests.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Redis failures.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No connection could be had from the pool.
    #[error("redis pool")]
    Pool(#[from] deadpool_redis::PoolError),
    /// A command failed.
    #[error("redis command")]
    Redis(#[from] deadpool_redis::redis::RedisError),
    /// The pool could not be built from the URL.
    #[error("redis configuration")]
    Config(#[from] deadpool_redis::CreatePoolError),
    /// No answer in time.
    #[error("redis timed out")]
    Timeout,
}

/// A Redis connection pool and the key prefix.
#[derive(Clone)]
pub struct RedisCache {
    /// Connections.
    pool: Pool,
    /// Prefix of every key (`featbit:` by default, per test in tests).
    prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T, CacheError>>) -> Result<T, CacheError> {
    tokio::time::timeout(TIMEOUT, f).await.map_err(|_| CacheError::Timeout)?
}

impl RedisCache {
    /// A pool for `url`; connects lazily.
    pub fn new(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let pool = Config::from_url(url).create_pool(Some(Runtime::Tokio1))?;
        Ok(Self { pool, prefix: prefix.to_owned() })
    }

    /// `{prefix}{rest}`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// One round trip.
    pub async fn ping(&self) -> Result<(), CacheError> {
        timed(async {
            let mut c = self.pool.get().await?;
            let _: String = deadpool_redis::redis::cmd("PING").query_async(&mut c).await?;
            Ok(())
        })
        .await
    }

    /// Runs a Lua script (`EVAL`) on one key; rate limits use it for atomic counts across nodes.
    pub async fn run_script<T: deadpool_redis::redis::FromRedisValue>(
        &self,
        script: &str,
        key: &str,
        args: &[String],
    ) -> Result<T, CacheError> {
        timed(async {
            let mut c = self.pool.get().await?;
            Ok(deadpool_redis::redis::cmd("EVAL").arg(script).arg(1).arg(key).arg(args).query_async(&mut c).await?)
        })
        .await
    }

    /// Writes the flag JSON first, then its index entry (FeatBit's order).
    pub async fn put_flag(&self, flag: &FeatureFlag) -> Result<(), CacheError> {
        let json = serde_json::to_string(flag).unwrap_or_default();
        let (key, index) = (self.key(&format!("flag:{}", flag.id)), self.key(&format!("flag-index:{}", flag.env_id)));
        timed(async {
            let mut c = self.pool.get().await?;
            let () = c.set(&key, json).await?;
            let () = c.zadd(&index, flag.id.to_string(), unix_ms(&flag.updated_at)).await?;
            Ok(())
        })
        .await
    }

    /// Writes the segment JSON, then its index entry.
    pub async fn put_segment(&self, s: &Segment) -> Result<(), CacheError> {
        let json = serde_json::to_string(s).unwrap_or_default();
        let (key, index) = (self.key(&format!("segment:{}", s.id)), self.key(&format!("segment-index:{}", s.env_id)));
        timed(async {
            let mut c = self.pool.get().await?;
            let () = c.set(&key, json).await?;
            let () = c.zadd(&index, s.id.to_string(), unix_ms(&s.updated_at)).await?;
            Ok(())
        })
        .await
    }

    /// An environment's flags and segments, if a node stored it completely (`env-loaded:{envId}` marker).
    pub async fn environment(&self, env_id: Uuid) -> Result<Option<(Vec<FeatureFlag>, Vec<Segment>)>, CacheError> {
        timed(async {
            let mut c = self.pool.get().await?;
            let loaded: bool = c.exists(self.key(&format!("env-loaded:{env_id}"))).await?;
            if !loaded {
                return Ok(None);
            }
            let flags = self.members(&mut c, "flag", env_id, |f: &FeatureFlag| f.env_id).await?;
            let segments = self.members(&mut c, "segment", env_id, |s: &Segment| s.env_id).await?;
            Ok(Some((flags, segments)))
        })
        .await
    }

    /// The `kind` rows listed in `env_id`'s index. An index member whose key holds another environment's row
    /// (left by an older version that moved rows between environments, or written by hand) is never served: it
    /// is dropped from the index instead.
    async fn members<T: serde::de::DeserializeOwned>(
        &self,
        c: &mut deadpool_redis::Connection,
        kind: &str,
        env_id: Uuid,
        env_of: impl Fn(&T) -> Uuid,
    ) -> Result<Vec<T>, CacheError> {
        let index = self.key(&format!("{kind}-index:{env_id}"));
        let ids: Vec<String> = c.zrange(&index, 0, -1).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(&format!("{kind}:{id}"))).collect();
        let values: Vec<Option<String>> = c.mget(keys).await?;
        let (mut rows, mut foreign) = (Vec::with_capacity(ids.len()), Vec::new());
        // Orphan index members (value already gone) are skipped, as FeatBit does.
        for (id, value) in ids.iter().zip(values) {
            match value.and_then(|v| serde_json::from_str::<T>(&v).ok()) {
                Some(row) if env_of(&row) == env_id => rows.push(row),
                Some(_) => foreign.push(id),
                None => {}
            }
        }
        if !foreign.is_empty() {
            tracing::warn!(%env_id, kind, count = foreign.len(), "cache index listed other environments' rows");
            let () = c.zrem(&index, foreign).await?;
        }
        Ok(rows)
    }

    /// Stores a whole environment and marks it complete.
    pub async fn put_environment(
        &self,
        env_id: Uuid,
        flags: &[FeatureFlag],
        segments: &[Segment],
    ) -> Result<(), CacheError> {
        timed(async {
            let mut c = self.pool.get().await?;
            let mut p = pipe();
            for f in flags {
                p.set(self.key(&format!("flag:{}", f.id)), serde_json::to_string(f).unwrap_or_default()).ignore();
                p.zadd(self.key(&format!("flag-index:{env_id}")), f.id.to_string(), unix_ms(&f.updated_at)).ignore();
            }
            for s in segments {
                p.set(self.key(&format!("segment:{}", s.id)), serde_json::to_string(s).unwrap_or_default()).ignore();
                p.zadd(self.key(&format!("segment-index:{env_id}")), s.id.to_string(), unix_ms(&s.updated_at)).ignore();
            }
            p.set(self.key(&format!("env-loaded:{env_id}")), "true").ignore();
            let () = p.query_async(&mut c).await?;
            Ok(())
        })
        .await
    }

    /// Makes the cached environment match the database's `flags` and `segments`: entries whose index score
    /// differs from their `updatedAt` (stale or missing) are rewritten, index members the database does not hold
    /// are removed. Returns how many entries were repaired (0: nothing written).
    pub async fn reconcile_environment(
        &self,
        env_id: Uuid,
        flags: &[FeatureFlag],
        segments: &[Segment],
    ) -> Result<usize, CacheError> {
        let (flag_index, segment_index) = (format!("flag-index:{env_id}"), format!("segment-index:{env_id}"));
        let (flags, extra_flags) =
            self.diff(&flag_index, flags, |f| (f.id.to_string(), unix_ms(&f.updated_at))).await?;
        let (segments, extra_segments) =
            self.diff(&segment_index, segments, |s| (s.id.to_string(), unix_ms(&s.updated_at))).await?;
        let repaired = flags.len() + segments.len() + extra_flags.len() + extra_segments.len();
        if repaired == 0 {
            return Ok(0);
        }
        for (index, extra) in [(&flag_index, &extra_flags), (&segment_index, &extra_segments)] {
            if !extra.is_empty() {
                timed(async {
                    let mut c = self.pool.get().await?;
                    let _: u64 = c.zrem(self.key(index), extra).await?;
                    Ok(())
                })
                .await?;
            }
        }
        self.put_environment(env_id, &flags, &segments).await?;
        Ok(repaired)
    }

    /// Compares an index with what the database holds: the items whose cached score differs, and the index
    /// members the database does not hold.
    async fn diff<T: Clone>(
        &self,
        index: &str,
        items: &[T],
        version: impl Fn(&T) -> (String, i64),
    ) -> Result<(Vec<T>, Vec<String>), CacheError> {
        let cached: Vec<(String, f64)> = timed(async {
            let mut c = self.pool.get().await?;
            Ok(c.zrange_withscores(self.key(index), 0, -1).await?)
        })
        .await?;
        let mut cached: std::collections::HashMap<String, f64> = cached.into_iter().collect();
        let mut stale = Vec::new();
        for item in items {
            let (id, ms) = version(item);
            // Millisecond timestamps are exact in an f64 score.
            if cached.remove(&id) != Some(ms as f64) {
                stale.push(item.clone());
            }
        }
        Ok((stale, cached.into_keys().collect()))
    }

    /// Deletes every key under the prefix (tests clean up with this; never used on a shared prefix).
    pub async fn delete_prefix(&self) -> Result<u64, CacheError> {
        let mut c = self.pool.get().await?;
        let keys: Vec<String> = c.keys(format!("{}*", self.prefix)).await?;
        if keys.is_empty() {
            return Ok(0);
        }
        let n: u64 = c.del(keys).await?;
        Ok(n)
    }
}
