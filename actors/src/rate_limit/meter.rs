//! One count of one policy: a fixed window or a token bucket. Pure arithmetic on a caller-given `now`, so it is
//! testable without a clock; the limiter keeps one per (policy, environment), a session one for its `data-sync`s.

use std::time::{Duration, Instant};

use super::{Algorithm, PolicyConfig};

/// The state of one count.
#[derive(Debug, Clone, Copy)]
pub enum Meter {
    /// Nothing is counted (`algorithm = "off"`).
    Off,
    /// Requests since `start`.
    Window {
        /// When the current window began (at its first request).
        start: Instant,
        /// Requests taken in it.
        count: u32,
    },
    /// Tokens left as of `last`.
    Bucket {
        /// Tokens available (fractional while refilling).
        tokens: f64,
        /// When `tokens` was computed.
        last: Instant,
    },
}

impl Meter {
    /// A fresh count: an empty window, or a full bucket.
    pub fn new(config: &PolicyConfig, now: Instant) -> Self {
        match config.algorithm {
            Algorithm::Off => Self::Off,
            Algorithm::FixedWindow => Self::Window { start: now, count: 0 },
            Algorithm::TokenBucket => Self::Bucket { tokens: f64::from(config.burst), last: now },
        }
    }

    /// Takes one request at `now`; `Err(wait)` when over the limit (nothing taken).
    pub fn take(&mut self, config: &PolicyConfig, now: Instant) -> Result<(), Duration> {
        match self {
            Self::Off => Ok(()),
            Self::Window { start, count } => {
                let window = Duration::from_secs(config.window_seconds);
                if now.saturating_duration_since(*start) >= window {
                    (*start, *count) = (now, 0);
                }
                if *count >= config.limit {
                    return Err((*start + window).saturating_duration_since(now).max(Duration::from_millis(1)));
                }
                *count += 1;
                Ok(())
            }
            Self::Bucket { tokens, last } => {
                let refill = now.saturating_duration_since(*last).as_secs_f64() * config.rate;
                (*tokens, *last) = ((*tokens + refill).min(f64::from(config.burst)), now);
                if *tokens < 1.0 {
                    let wait = Duration::from_secs_f64((1.0 - *tokens) / config.rate);
                    return Err(wait.max(Duration::from_millis(1)));
                }
                *tokens -= 1.0;
                Ok(())
            }
        }
    }
}
