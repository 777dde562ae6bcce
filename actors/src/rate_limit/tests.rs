//! The two algorithms on a simulated clock, and the limiter's local path.

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::*;

fn window(limit: u32, seconds: u64) -> PolicyConfig {
    PolicyConfig { algorithm: Algorithm::FixedWindow, limit, window_seconds: seconds, ..PolicyConfig::default() }
}

fn bucket(rate: f64, burst: u32) -> PolicyConfig {
    PolicyConfig { algorithm: Algorithm::TokenBucket, rate, burst, ..PolicyConfig::default() }
}

#[test]
fn a_fixed_window_allows_its_limit_then_says_when_it_reopens() {
    let (config, t0) = (window(3, 10), Instant::now());
    let mut m = Meter::new(&config, t0);
    for _ in 0..3 {
        assert_eq!(m.take(&config, t0), Ok(()));
    }
    assert_eq!(m.take(&config, t0 + Duration::from_secs(4)), Err(Duration::from_secs(6)));
    assert_eq!(m.take(&config, t0 + Duration::from_secs(10)), Ok(()), "a new window");
}

#[test]
fn a_token_bucket_allows_its_burst_then_refills_at_its_rate() {
    let (config, t0) = (bucket(2.0, 4), Instant::now());
    let mut m = Meter::new(&config, t0);
    for _ in 0..4 {
        assert_eq!(m.take(&config, t0), Ok(()));
    }
    assert_eq!(m.take(&config, t0), Err(Duration::from_millis(500)));
    assert_eq!(m.take(&config, t0 + Duration::from_millis(500)), Ok(()), "one token after 1/rate");
    assert!(m.take(&config, t0 + Duration::from_millis(500)).is_err());
    let later = t0 + Duration::from_secs(60);
    for _ in 0..4 {
        assert_eq!(m.take(&config, later), Ok(()), "refilled up to burst, not beyond");
    }
    assert!(m.take(&config, later).is_err());
}

#[test]
fn invalid_policies_are_named() {
    assert!(window(0, 1).problem().is_some());
    assert!(window(1, 0).problem().is_some());
    assert!(bucket(0.0, 1).problem().is_some());
    assert!(bucket(f64::NAN, 1).problem().is_some());
    assert!(bucket(1.0, 0).problem().is_some());
    assert!(PolicyConfig::default().problem().is_none(), "off");
}

#[tokio::test]
async fn the_limiter_counts_per_policy_and_environment() {
    let config = RateLimitsConfig { polling: window(2, 60), ..RateLimitsConfig::default() };
    let limiter = RateLimiter::new(config, None);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(limiter.check(Policy::Polling, a).await.is_ok());
    assert!(limiter.check(Policy::Polling, a).await.is_ok());
    let limited = limiter.check(Policy::Polling, a).await.expect_err("third in the window");
    assert!(limited.retry_after > Duration::from_secs(58));
    assert!(limiter.check(Policy::Polling, b).await.is_ok(), "another environment");
    for _ in 0..10 {
        assert!(limiter.check(Policy::Insights, a).await.is_ok(), "insights policy is off");
    }
}
