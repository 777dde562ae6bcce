//! The published snapshots, shared by every worker thread: many readers, one writer (the hub).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::snapshot::EnvSnapshot;

/// Environment id → current snapshot. Cloning shares the registry.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRegistry {
    /// Never held across an `.await`; readers only clone an `Arc` out.
    inner: Arc<RwLock<HashMap<Uuid, Arc<EnvSnapshot>>>>,
}

impl SnapshotRegistry {
    /// The current snapshot of an environment, if loaded.
    pub fn get(&self, env_id: Uuid) -> Option<Arc<EnvSnapshot>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).get(&env_id).cloned()
    }

    /// Replaces an environment's snapshot (hub only).
    pub(crate) fn insert(&self, snapshot: Arc<EnvSnapshot>) {
        self.inner.write().unwrap_or_else(|e| e.into_inner()).insert(snapshot.env_id(), snapshot);
    }

    /// Forgets an environment (hub only).
    pub(crate) fn remove(&self, env_id: Uuid) {
        self.inner.write().unwrap_or_else(|e| e.into_inner()).remove(&env_id);
    }

    /// The loaded environments.
    pub fn env_ids(&self) -> Vec<Uuid> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).keys().copied().collect()
    }

    /// Number of loaded environments.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no environment is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
