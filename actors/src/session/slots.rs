//! Open sessions per environment and SDK type on this node, and the caps on them (`streaming.max_sessions`,
//! `streaming.max_sessions_per_env`). A connect takes a [`SessionSlot`] before its session starts; the slot is
//! given back when the session actor is dropped, so the count cannot drift whichever way a session ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;
use vane_schema::secret::SecretType;

/// Most sessions this node accepts; 0 = unlimited.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionCaps {
    /// In all.
    pub total: usize,
    /// Per environment (server and client sessions together).
    pub per_env: usize,
}

/// Which cap a refused connect hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CapExceeded {
    /// `streaming.max_sessions`.
    #[error("the node holds its maximum of sessions")]
    Node,
    /// `streaming.max_sessions_per_env`.
    #[error("the environment holds its maximum of sessions on this node")]
    Environment,
}

impl CapExceeded {
    /// The `policy` attribute of `vane.rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "max_sessions",
            Self::Environment => "max_sessions_per_env",
        }
    }
}

/// Open sessions; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SessionCounts(Arc<Mutex<Counts>>);

#[derive(Debug, Default)]
struct Counts {
    by_kind: HashMap<(Uuid, SecretType), usize>,
    per_env: HashMap<Uuid, usize>,
    total: usize,
}

/// One open session's place in the counts; dropping it gives the place back.
#[derive(Debug)]
pub struct SessionSlot {
    counts: SessionCounts,
    key: (Uuid, SecretType),
}

impl SessionCounts {
    /// Every (environment, SDK type) with at least one open session.
    pub fn snapshot(&self) -> Vec<(Uuid, SecretType, usize)> {
        let counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.by_kind.iter().map(|((env, kind), n)| (*env, *kind, *n)).collect()
    }

    /// Takes a place for a session of `env` and `kind`, unless that would exceed a cap.
    pub fn try_open(&self, env: Uuid, kind: SecretType, caps: SessionCaps) -> Result<SessionSlot, CapExceeded> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if caps.total > 0 && counts.total >= caps.total {
            return Err(CapExceeded::Node);
        }
        let in_env = counts.per_env.get(&env).copied().unwrap_or(0);
        if caps.per_env > 0 && in_env >= caps.per_env {
            return Err(CapExceeded::Environment);
        }
        counts.total += 1;
        *counts.per_env.entry(env).or_default() += 1;
        *counts.by_kind.entry((env, kind)).or_default() += 1;
        Ok(SessionSlot { counts: self.clone(), key: (env, kind) })
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        decrement(&mut counts.per_env, self.key.0);
        decrement(&mut counts.by_kind, self.key);
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
    if let Some(n) = map.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_node_and_per_environment_and_slots_come_back() {
        let counts = SessionCounts::default();
        let caps = SessionCaps { total: 3, per_env: 2 };
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let a1 = counts.try_open(a, SecretType::Server, caps).expect("a1");
        let _a2 = counts.try_open(a, SecretType::Client, caps).expect("a2");
        assert_eq!(
            counts.try_open(a, SecretType::Server, caps).expect_err("a3 over the environment cap"),
            CapExceeded::Environment
        );
        let _b1 = counts.try_open(b, SecretType::Server, caps).expect("b1");
        assert_eq!(counts.try_open(b, SecretType::Server, caps).expect_err("b2 over the node cap"), CapExceeded::Node);
        drop(a1);
        assert!(counts.try_open(a, SecretType::Server, caps).is_ok(), "a place came back");
        assert_eq!(
            counts.snapshot().iter().map(|(_, _, n)| n).sum::<usize>(),
            2,
            "the probe, dropped at once, gave its place back"
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let counts = SessionCounts::default();
        let slots: Vec<_> =
            (0..100).map(|_| counts.try_open(Uuid::nil(), SecretType::Client, SessionCaps::default())).collect();
        assert!(slots.iter().all(Result::is_ok));
    }
}
