//! The cluster-wide count in Redis: one Lua script per check, so the read, the decision and the write are atomic
//! across nodes. The token bucket reads Redis' own clock (`TIME`), so nodes with skewed clocks agree.

use std::time::Duration;

use super::{Algorithm, PolicyConfig};
use crate::cache::{CacheError, RedisCache};

/// `INCR` + `PEXPIRE` on the first request of a window; returns `{count, ms left in the window}`.
const FIXED_WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

/// Refills by elapsed time, takes a token if there is one; returns 0 (taken) or the milliseconds to wait.
const TOKEN_BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
";

/// Takes one request from the count at `key`: `Ok(Ok(()))` allowed, `Ok(Err(wait))` over the limit.
pub(super) async fn take(
    redis: &RedisCache,
    key: &str,
    config: &PolicyConfig,
) -> Result<Result<(), Duration>, CacheError> {
    match config.algorithm {
        Algorithm::Off => Ok(Ok(())),
        Algorithm::FixedWindow => {
            let window_ms = config.window_seconds.saturating_mul(1000);
            let (count, left_ms): (u64, i64) = redis.run_script(FIXED_WINDOW, key, &[window_ms.to_string()]).await?;
            let wait = Duration::from_millis(left_ms.max(1).unsigned_abs());
            Ok(if count > u64::from(config.limit) { Err(wait) } else { Ok(()) })
        }
        Algorithm::TokenBucket => {
            let per_ms = config.rate / 1000.0;
            let args = [per_ms.to_string(), config.burst.to_string()];
            let wait_ms: u64 = redis.run_script(TOKEN_BUCKET, key, &args).await?;
            Ok(if wait_ms == 0 { Ok(()) } else { Err(Duration::from_millis(wait_ms)) })
        }
    }
}
