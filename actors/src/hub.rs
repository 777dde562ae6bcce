//! The hub actor: one per node, on its own arbiter. It owns every environment's [`EnvSnapshot`], knows every SDK
//! session grouped by environment, applies flag and segment changes idempotently, and fans pushes out to the
//! sessions of the changed environment through bounded mailboxes.
//!
//! Reads do not queue behind the hub: snapshots are published in a [`SnapshotRegistry`] that sessions and HTTP
//! handlers read directly. Only the hub writes it, so a session that registered before reading a snapshot is
//! pushed every change applied after that read.
//!
//! The hub never awaits I/O in a handler: loads ([`load`]), catch-up ([`catch_up`]) and the flags a segment change
//! affects are read in spawned tasks whose results come back to the hub as messages. Applying is idempotent by
//! version, so a result that arrives after newer changes is harmless.

mod messages;
mod registry;
mod users;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use uuid::Uuid;
use vane_schema::secret::SecretType;

pub use messages::{
    AttributesChanged, Connect, Disconnect, EnvDeleted, Evict, FlagChanged, Identify, LoadEnv, Push, PushKind,
    RefreshSecrets, Resync, SecretsChanged, SegmentChanged, SessionCount, Traced, UserChanged,
};
pub use registry::SnapshotRegistry;

use crate::access::SecretIndex;
use crate::cache::Cache;
use crate::metrics::metrics;
use crate::snapshot::EnvSnapshot;
use crate::store::{Store, StoreError};

/// Identifies a session within its node (assigned by the hub, never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// Why the hub could not serve a request. Cloneable: one load answers every request that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HubError {
    /// The environment does not exist.
    #[error("unknown environment {0}")]
    UnknownEnvironment(Uuid),
    /// The database could not be read.
    #[error("cannot load the environment")]
    Store(#[source] Arc<StoreError>),
    /// The secret the session was opened with was revoked meanwhile.
    #[error("the secret was revoked")]
    SecretRevoked,
    /// The hub restarted before it could answer (the caller may retry).
    #[error("the hub restarted before answering")]
    Interrupted,
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        Self::Store(Arc::new(e))
    }
}

/// Where an applied change came from (the `source` label of `vane.change.lag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The change bus (this node's own writes included).
    Bus,
    /// A catch-up read of the database.
    CatchUp,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Bus => "bus",
            Self::CatchUp => "catch-up",
        }
    }
}

/// What the hub holds for one connected session.
struct SessionHandle {
    /// Server sessions get raw patches, client sessions re-evaluate.
    kind: SecretType,
    /// Where pushes go; bounded by the session's mailbox capacity.
    push: Recipient<Push>,
    /// Tells a session to close (bypasses the bounded mailbox).
    evict: Recipient<Evict>,
    /// The secret it was opened with.
    secret_id: Uuid,
    /// The user a client session identified as, indexed in [`Hub::users`].
    user: Option<users::UserLink>,
}

/// The node's hub.
pub struct Hub {
    /// Source of truth for loading environments.
    store: Store,
    /// Shared cache, read before the store when loading an environment.
    cache: Cache,
    /// Published snapshots; the hub is its only writer.
    registry: SnapshotRegistry,
    /// Every environment's secrets; the hub is its only writer once the node runs.
    secrets: SecretIndex,
    /// Connected sessions by environment.
    sessions: HashMap<Uuid, HashMap<SessionId, SessionHandle>>,
    /// Next session id.
    next_id: u64,
    /// Environments being loaded, with who waits for them and the changes that arrived meanwhile.
    loading: HashMap<Uuid, load::Loading>,
    /// Environments whose catch-up read is in flight; `true` when another pass was asked for meanwhile.
    catching_up: HashMap<Uuid, bool>,
    /// Environments with a catch-up retry scheduled (at most one each, so an outage does not multiply them).
    retrying: HashSet<Uuid>,
    /// Client sessions by (environment, user key), with those users' stored attributes.
    users: HashMap<(Uuid, String), users::UserEntry>,
}

impl Hub {
    /// A hub reading environments from `store`, publishing snapshots to `registry` and keeping `secrets` current.
    pub fn new(store: Store, cache: Cache, registry: SnapshotRegistry, secrets: SecretIndex) -> Self {
        Self {
            store,
            cache,
            registry,
            secrets,
            sessions: HashMap::new(),
            next_id: 0,
            loading: HashMap::new(),
            catching_up: HashMap::new(),
            retrying: HashSet::new(),
            users: HashMap::new(),
        }
    }

    /// Sends `push` to every session of `env_id` matching `kind`; evicts sessions whose mailbox is full (too slow)
    /// and forgets those already gone. Returns how many sessions took it and how many were evicted.
    fn fan_out(&mut self, env_id: Uuid, push: &Push) -> (u64, u64) {
        let Some(group) = self.sessions.get_mut(&env_id) else { return (0, 0) };
        let (mut sent, mut evicted) = (0, 0);
        let mut gone = Vec::new();
        group.retain(|id, s| {
            if !push.kind.includes(s.kind) {
                return true;
            }
            let keep = match s.push.try_send(push.clone()) {
                Ok(()) => {
                    sent += 1;
                    true
                }
                Err(SendError::Full(_)) => {
                    tracing::warn!(session = %id, env = %env_id, "session too slow, closing");
                    metrics().push_evictions.add(1, &[]);
                    s.evict.do_send(Evict::TooSlow);
                    evicted += 1;
                    false
                }
                Err(SendError::Closed(_)) => false,
            };
            if !keep && let Some(user) = s.user.take() {
                gone.push((*id, user));
            }
            keep
        });
        for (id, user) in gone {
            self.unindex(env_id, user.key_id, id);
        }
        (sent, evicted)
    }

    fn publish(&mut self, snapshot: EnvSnapshot) -> Arc<EnvSnapshot> {
        let snapshot = Arc::new(snapshot);
        self.registry.insert(snapshot.clone());
        snapshot
    }
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Pushes to thousands of sessions are queued here during a burst of changes.
        ctx.set_mailbox_capacity(100_000);
        tracing::info!("hub started");
    }
}

impl Supervised for Hub {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("hub restarting");
    }
}

mod catch_up;
mod handlers;
mod load;
mod secrets;
#[cfg(test)]
mod tests;
