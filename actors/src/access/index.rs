//! [`SecretIndex`]: every environment's secrets, in memory on every node, so validating an SDK secret never
//! costs a Redis or database round trip.
//!
//! Loaded from the database at start ([`SecretIndex::load`]); afterwards only the hub writes it, from the change
//! bus (environment created, secrets rotated, environment deleted) and from its periodic catch-up, so a node that
//! missed a message converges. Each environment's secret list carries the environment's `updatedAt` as a
//! version: an older list (a late message, a catch-up read that began before a rotation) never undoes a newer
//! one.
//!
//! The only miss that may lead to I/O is a secret whose environment is known but whose value is not: it may have
//! been added on another node a moment ago. Such a miss asks the hub to re-read that one environment, at most once
//! per [`REFRESH_EVERY`] per environment (the negative cache: one timestamp per known environment, so it is
//! bounded by the number of environments). A secret of an unknown environment is refused from memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vane_schema::secret::{EnvSecret, env_id};

use super::SecretInfo;
use crate::store::{Store, StoreError};

/// Shortest time between two re-reads of one environment's secrets caused by unknown secrets.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// What the index says about a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A current secret.
    Found(SecretInfo),
    /// Unknown; its environment exists and should be re-read (the caller asks the hub).
    Refresh(Uuid),
    /// Unknown, and nothing to re-read (unknown environment, or re-read recently).
    Unknown,
}

/// One environment's entry.
#[derive(Debug)]
struct EnvEntry {
    /// Version of `secrets` (the environment's `updatedAt`).
    updated_at: DateTime<Utc>,
    /// The secrets it holds.
    secrets: Vec<EnvSecret>,
    /// When this entry was written (a catch-up read that began later may remove it).
    written: Instant,
    /// Last re-read asked because of an unknown secret.
    refreshed: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Secret value → what it grants.
    by_value: HashMap<String, SecretInfo>,
    /// Environment → its secrets.
    envs: HashMap<Uuid, EnvEntry>,
}

/// Environment id → secrets, shared by every worker; cloning shares the index.
#[derive(Debug, Clone, Default)]
pub struct SecretIndex {
    /// Never held across an `.await`.
    inner: Arc<RwLock<Inner>>,
}

impl SecretIndex {
    /// Reads every environment's secrets (at start, before the hub takes over the index).
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let index = Self::default();
        for env in store.environments().await? {
            index.apply(env.id, env.updated_at, env.secrets());
        }
        Ok(index)
    }

    /// Looks a secret up (structurally invalid secrets are simply unknown).
    pub fn lookup(&self, secret: &str) -> Lookup {
        let Ok(env) = env_id(secret) else { return Lookup::Unknown };
        if let Some(info) = self.read().by_value.get(secret) {
            return Lookup::Found(*info);
        }
        let mut inner = self.write();
        let Some(entry) = inner.envs.get_mut(&env) else { return Lookup::Unknown };
        if entry.refreshed.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
            return Lookup::Unknown;
        }
        entry.refreshed = Some(Instant::now());
        Lookup::Refresh(env)
    }

    /// Whether `secret_id` is no longer among the secrets of `env` (false for an environment not held: the hub
    /// decides about those).
    pub fn revoked(&self, env: Uuid, secret_id: Uuid) -> bool {
        self.read().envs.get(&env).is_some_and(|e| !e.secrets.iter().any(|s| s.id == secret_id))
    }

    /// Number of secrets held.
    pub fn len(&self) -> usize {
        self.read().by_value.len()
    }

    /// Whether no secret is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces an environment's secrets unless what is held is newer. Returns the ids of the secrets that were
    /// revoked by this (`None`: stale, nothing changed).
    pub(crate) fn apply(&self, env: Uuid, updated_at: DateTime<Utc>, secrets: Vec<EnvSecret>) -> Option<Vec<Uuid>> {
        let mut inner = self.write();
        let refreshed = match inner.envs.get(&env) {
            Some(held) if held.updated_at > updated_at => return None,
            Some(held) => held.refreshed,
            None => None,
        };
        let revoked = inner.remove_env(env);
        let revoked = revoked.into_iter().filter(|old| !secrets.iter().any(|s| s.id == *old)).collect();
        for s in &secrets {
            inner.by_value.insert(s.value.clone(), SecretInfo { env_id: env, kind: s.kind, id: s.id });
        }
        inner.envs.insert(env, EnvEntry { updated_at, secrets, written: Instant::now(), refreshed });
        Some(revoked)
    }

    /// Forgets an environment (deleted).
    pub(crate) fn remove(&self, env: Uuid) {
        self.write().remove_env(env);
    }

    /// The environments held that were written before `read_began` and are not in `present`: deleted while this
    /// node was not listening.
    pub(crate) fn missing_since(&self, read_began: Instant, present: &[Uuid]) -> Vec<Uuid> {
        let inner = self.read();
        let gone = |(id, e): (&Uuid, &EnvEntry)| (e.written < read_began && !present.contains(id)).then_some(*id);
        inner.envs.iter().filter_map(gone).collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Removes an environment and its secrets; returns their ids.
    fn remove_env(&mut self, env: Uuid) -> Vec<Uuid> {
        let Some(entry) = self.envs.remove(&env) else { return Vec::new() };
        for s in &entry.secrets {
            self.by_value.remove(&s.value);
        }
        entry.secrets.iter().map(|s| s.id).collect()
    }
}

#[cfg(test)]
mod tests;
