//! Admin API authentication: the bearer token is known only as its SHA-256 hash (the configured token is hashed
//! at start, a generated one is stored hashed), compared in constant time; failed attempts are counted per source
//! address, and an address over `admin.max_failures` per window is answered 429 with `Retry-After` until its
//! window ends (even with the right token, so guessing cannot continue).
//!
//! A plain hash (no salt or stretching) suffices: tokens are 32+ random characters, not passwords.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Prefix of a stored hash (distinguishes it from a plaintext token stored by older versions).
const PREFIX: &str = "sha256:";
/// Bound on the addresses tracked; beyond it expired entries are dropped, then the oldest.
const MAX_TRACKED: usize = 10_000;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAuthError {
    /// Missing or wrong token.
    Wrong,
    /// Too many failures from this address; retry after this long.
    Locked(Duration),
}

/// Failures of one address in its current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    start: Instant,
    count: u32,
}

/// The token check; shared by every worker.
#[derive(Debug)]
pub struct AdminAuth {
    /// SHA-256 of the token.
    digest: [u8; 32],
    /// Failures per source address.
    failures: Mutex<HashMap<IpAddr, Failures>>,
    /// `admin.max_failures`.
    max_failures: u32,
    /// `admin.failure_window_seconds`.
    window: Duration,
}

/// `sha256:<hex>` of a token, as stored.
pub fn hash_token(token: &str) -> String {
    let hex: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

/// Whether a stored value is a hash (else it is a plaintext token from an older version).
pub fn is_hash(stored: &str) -> bool {
    parse_hash(stored).is_some()
}

fn parse_hash(stored: &str) -> Option<[u8; 32]> {
    let hex = stored.strip_prefix(PREFIX)?;
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?;
    bytes.try_into().ok()
}

impl AdminAuth {
    /// A check against the stored `sha256:<hex>` hash; `None` if it is not one.
    pub fn new(stored_hash: &str, max_failures: u32, window: Duration) -> Option<Self> {
        let digest = parse_hash(stored_hash)?;
        Some(Self { digest, failures: Mutex::default(), max_failures, window })
    }

    /// Checks a bearer token from `peer`.
    pub fn check(&self, given: Option<&str>, peer: Option<IpAddr>, now: Instant) -> Result<(), AdminAuthError> {
        if let Some(wait) = peer.and_then(|p| self.locked(p, now)) {
            return Err(AdminAuthError::Locked(wait));
        }
        let given: [u8; 32] = Sha256::digest(given.unwrap_or_default().trim().as_bytes()).into();
        // Constant time: every byte is compared whatever the first difference.
        if given.iter().zip(&self.digest).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 {
            return Ok(());
        }
        if let Some(peer) = peer {
            self.record_failure(peer, now);
        }
        Err(AdminAuthError::Wrong)
    }

    fn locked(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = failures.get(&peer)?;
        let end = f.start + self.window;
        (f.count >= self.max_failures && now < end).then(|| end - now)
    }

    fn record_failure(&self, peer: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&peer) {
            failures.retain(|_, f| now.saturating_duration_since(f.start) < self.window);
            if failures.len() >= MAX_TRACKED {
                let oldest = failures.iter().min_by_key(|(_, f)| f.start).map(|(ip, _)| *ip);
                oldest.map(|ip| failures.remove(&ip));
            }
        }
        let f = failures.entry(peer).or_insert(Failures { start: now, count: 0 });
        if now.saturating_duration_since(f.start) >= self.window {
            *f = Failures { start: now, count: 0 };
        }
        f.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn only_the_hashed_token_passes() {
        let stored = hash_token(TOKEN);
        assert!(is_hash(&stored) && !stored.contains(TOKEN) && !is_hash(TOKEN));
        let auth = AdminAuth::new(&stored, 10, Duration::from_secs(60)).expect("a hash");
        let now = Instant::now();
        assert_eq!(auth.check(Some(TOKEN), None, now), Ok(()));
        assert_eq!(auth.check(Some(&TOKEN[1..]), None, now), Err(AdminAuthError::Wrong));
        assert_eq!(auth.check(None, None, now), Err(AdminAuthError::Wrong));
    }

    #[test]
    fn an_address_over_its_failures_is_locked_until_its_window_ends() {
        let auth = AdminAuth::new(&hash_token(TOKEN), 3, Duration::from_secs(60)).expect("a hash");
        let (me, other, t0) = ("10.0.0.1".parse().ok(), "10.0.0.2".parse().ok(), Instant::now());
        for _ in 0..3 {
            assert_eq!(auth.check(Some("wrong"), me, t0), Err(AdminAuthError::Wrong));
        }
        assert_eq!(auth.check(Some(TOKEN), me, t0), Err(AdminAuthError::Locked(Duration::from_secs(60))));
        assert_eq!(auth.check(Some(TOKEN), other, t0), Ok(()), "other addresses are not affected");
        assert_eq!(auth.check(Some(TOKEN), me, t0 + Duration::from_secs(60)), Ok(()), "the window ended");
    }
}
