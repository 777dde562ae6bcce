//! "Publish each user once per window": the in-memory cache FeatBit's evaluation server keeps in front of the
//! end-user topic (featbit-protocol.md §3.3) — absolute expiry, bounded size, oldest evicted first.
//!
//! Every entry lives for the same window, so insertion order is also expiry order and a queue is enough to expire
//! and evict without scanning. The caller passes `now`, which keeps this testable without a clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// FeatBit's window: a user is published again at most every 3 minutes per node.
pub const WINDOW: Duration = Duration::from_secs(180);
/// FeatBit's cap on remembered users; beyond it the oldest are forgotten (and may be published again early).
pub const MAX_ENTRIES: usize = 1_000_000;

/// Users published recently, keyed `{envId as 32 hex}:{keyId}` as FeatBit keys them.
#[derive(Debug)]
pub struct UserDedupe {
    /// Key → when it was added (the value tells a live entry from a stale queue element of an evicted one).
    seen: HashMap<Box<str>, Instant>,
    /// Keys in insertion (= expiry) order; may hold stale elements for keys re-added after eviction.
    order: VecDeque<(Instant, Box<str>)>,
    /// How long an entry lives.
    window: Duration,
    /// Most entries kept.
    capacity: usize,
}

impl Default for UserDedupe {
    fn default() -> Self {
        Self::new(WINDOW, MAX_ENTRIES)
    }
}

impl UserDedupe {
    /// A cache with the given window and capacity (at least 1).
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self { seen: HashMap::new(), order: VecDeque::new(), window, capacity: capacity.max(1) }
    }

    /// True when `key_id` of `env_id` was not seen within the window, and remembers it from `now` on.
    pub fn first_seen(&mut self, env_id: Uuid, key_id: &str, now: Instant) -> bool {
        self.expire(now);
        let key = format!("{}:{key_id}", env_id.simple()).into_boxed_str();
        if self.seen.contains_key(&key) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            self.pop_oldest();
        }
        self.seen.insert(key.clone(), now);
        self.order.push_back((now, key));
        true
    }

    /// Forgets a user, so the next sighting counts as new (its publication failed).
    pub fn forget(&mut self, env_id: Uuid, key_id: &str) {
        // The queue element stays; `pop_oldest` skips it because the map no longer holds its instant.
        self.seen.remove(format!("{}:{key_id}", env_id.simple()).as_str());
    }

    /// Users currently remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no user is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops every entry older than the window.
    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.window) {
            self.pop_oldest();
        }
    }

    /// Removes the oldest queue element, and its map entry unless the key was re-added later.
    fn pop_oldest(&mut self) {
        if let Some((at, key)) = self.order.pop_front()
            && self.seen.get(&key) == Some(&at)
        {
            self.seen.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_new_once_per_window_and_per_environment() {
        let (mut d, t0, env) = (UserDedupe::default(), Instant::now(), Uuid::new_v4());
        assert!(d.first_seen(env, "u1", t0));
        assert!(!d.first_seen(env, "u1", t0 + Duration::from_secs(179)));
        assert!(d.first_seen(Uuid::new_v4(), "u1", t0), "other environment");
        assert!(d.first_seen(env, "u2", t0), "other user");
        assert!(d.first_seen(env, "u1", t0 + WINDOW), "window is absolute from the first sighting");
    }

    #[test]
    fn a_forgotten_user_is_new_again() {
        let (mut d, t0, env) = (UserDedupe::default(), Instant::now(), Uuid::new_v4());
        assert!(d.first_seen(env, "u", t0));
        d.forget(env, "u");
        assert!(d.first_seen(env, "u", t0));
        assert!(!d.first_seen(env, "u", t0));
    }

    #[test]
    fn expiry_is_absolute_not_sliding() {
        let (mut d, t0, env) = (UserDedupe::default(), Instant::now(), Uuid::new_v4());
        assert!(d.first_seen(env, "u", t0));
        assert!(!d.first_seen(env, "u", t0 + Duration::from_secs(100)));
        assert!(d.first_seen(env, "u", t0 + Duration::from_secs(181)));
    }

    #[test]
    fn capacity_evicts_the_oldest_first() {
        let (mut d, t0, env) = (UserDedupe::new(WINDOW, 2), Instant::now(), Uuid::new_v4());
        assert!(d.first_seen(env, "a", t0));
        assert!(d.first_seen(env, "b", t0));
        assert!(d.first_seen(env, "c", t0), "evicts a");
        assert_eq!(d.len(), 2);
        assert!(!d.first_seen(env, "c", t0));
        assert!(!d.first_seen(env, "b", t0));
        assert!(d.first_seen(env, "a", t0), "a was forgotten");
    }

    #[test]
    fn a_key_readded_after_eviction_survives_its_stale_queue_element() {
        let (mut d, t0, env) = (UserDedupe::new(WINDOW, 2), Instant::now(), Uuid::new_v4());
        d.first_seen(env, "a", t0);
        d.first_seen(env, "b", t0);
        d.first_seen(env, "c", t0 + Duration::from_secs(1)); // evicts a
        d.first_seen(env, "a", t0 + Duration::from_secs(2)); // evicts b, a re-added
        assert!(!d.first_seen(env, "a", t0 + Duration::from_secs(3)));
        assert!(!d.first_seen(env, "c", t0 + Duration::from_secs(3)));
        assert!(d.first_seen(env, "c", t0 + WINDOW + Duration::from_secs(1)), "c expires");
        assert!(!d.first_seen(env, "a", t0 + WINDOW + Duration::from_secs(1)), "a counts from its re-add");
    }
}
