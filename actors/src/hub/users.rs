//! The hub's index of client sessions by (environment, user key), with the stored attributes of those users: the
//! per-node cache of stored attributes for the users with open sessions.
//!
//! A user's attributes are read once, when the first session of that user identifies, in a task outside the hub
//! ([`UserLoaded`] brings them back); later sessions of the user are answered from the index. A user message that
//! arrives during that read is held and wins if newer, so nothing committed after the read began is lost. User
//! messages are applied only if their version is newer than what is held (duplicates and reordering are harmless)
//! and reach only that user's sessions. Catch-up re-reads the attributes of every indexed user ([`UsersCaughtUp`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;
use vane_schema::wire::StoredAttributes;
use vane_schema::wire::change::UserChange;

use super::messages::{AttributesChanged, Evict, Identify, UserChanged};
use super::{Hub, SessionId};
use crate::metrics::metrics;
use crate::store::StoreError;

/// (environment, user key).
type UserKey = (Uuid, String);

/// Waits for a user's first read.
type Waiter = oneshot::Sender<Option<Arc<StoredAttributes>>>;

/// What the hub holds for one user.
enum Held {
    /// The first read is in flight: who waits for it, and the newest message that arrived meanwhile.
    Loading { waiters: Vec<Waiter>, newest: Option<UserChange> },
    /// Known (`attributes: None`: nothing stored). `applied_at` tells a catch-up whether its read can be older.
    Loaded { version: i64, attributes: Option<Arc<StoredAttributes>>, applied_at: Instant },
}

/// One user with sessions on this node.
pub(super) struct UserEntry {
    /// Its client sessions (their handles hold the attribute recipients).
    sessions: HashSet<SessionId>,
    /// Its stored attributes.
    held: Held,
}

/// How a session is linked to its user in the index.
pub(super) struct UserLink {
    /// The user's key.
    pub(super) key_id: String,
    /// Where attribute changes go.
    attributes: Recipient<AttributesChanged>,
}

/// A user's first read, handed back to the hub.
#[derive(Message)]
#[rtype(result = "()")]
struct UserLoaded {
    key: UserKey,
    result: Result<Option<StoredAttributes>, StoreError>,
}

/// One environment's catch-up read of its indexed users, handed back to the hub.
#[derive(Message)]
#[rtype(result = "()")]
struct UsersCaughtUp {
    env_id: Uuid,
    /// The keys that were read (those not found have nothing stored).
    keys: Vec<String>,
    /// When the read was started: only what the hub applied before then can be judged by it.
    started: Instant,
    result: Result<Vec<StoredAttributes>, StoreError>,
}

impl Handler<Identify> for Hub {
    type Result = ResponseFuture<Option<Arc<StoredAttributes>>>;

    fn handle(&mut self, msg: Identify, ctx: &mut Self::Context) -> Self::Result {
        let Identify { env_id, id, key_id, attributes } = msg;
        let Some(handle) = self.sessions.get_mut(&env_id).and_then(|g| g.get_mut(&id)) else {
            return Box::pin(async { None }); // the session is already gone
        };
        let previous = handle.user.replace(UserLink { key_id: key_id.clone(), attributes });
        if let Some(previous) = previous.filter(|p| p.key_id != key_id) {
            self.unindex(env_id, previous.key_id, id);
        }
        let key = (env_id, key_id);
        if !self.users.contains_key(&key) {
            self.load_user(key.clone(), ctx);
        }
        let Some(entry) = self.users.get_mut(&key) else { return Box::pin(async { None }) };
        entry.sessions.insert(id);
        match &mut entry.held {
            Held::Loaded { attributes, .. } => {
                let attributes = attributes.clone();
                Box::pin(async move { attributes })
            }
            Held::Loading { waiters, .. } => {
                let (tx, rx) = oneshot::channel();
                waiters.push(tx);
                Box::pin(async move { rx.await.unwrap_or(None) })
            }
        }
    }
}

impl Handler<UserLoaded> for Hub {
    type Result = ();

    fn handle(&mut self, UserLoaded { key, result }: UserLoaded, _: &mut Self::Context) {
        let Some(entry) = self.users.get_mut(&key).filter(|e| matches!(e.held, Held::Loading { .. })) else { return };
        let Held::Loading { waiters, newest } = std::mem::replace(&mut entry.held, loaded(-1, None)) else { return };
        let (version, attributes) = match result {
            Ok(Some(a)) => (a.version, Some(a)),
            Ok(None) => (0, None),
            Err(e) => {
                // Served without stored attributes until the next catch-up reads them.
                tracing::warn!(env = %key.0, error = %e, "cannot read a user's stored attributes");
                (-1, None)
            }
        };
        let (version, attributes) = match newest {
            Some(c) if c.version > version => (c.version, c.attributes),
            _ => (version, attributes),
        };
        let attributes = attributes.map(Arc::new);
        for waiter in waiters {
            let _ = waiter.send(attributes.clone());
        }
        entry.held = loaded(version, attributes);
        if entry.sessions.is_empty() {
            self.users.remove(&key); // every session of the user left during the read
        }
    }
}

impl Handler<UserChanged> for Hub {
    type Result = ();

    fn handle(&mut self, UserChanged(change): UserChanged, _: &mut Self::Context) {
        self.apply_user(change);
    }
}

impl Handler<UsersCaughtUp> for Hub {
    type Result = ();

    fn handle(&mut self, msg: UsersCaughtUp, _: &mut Self::Context) {
        let UsersCaughtUp { env_id, keys, started, result } = msg;
        let found = match result {
            Ok(found) => found,
            Err(e) => return tracing::warn!(env = %env_id, error = %e, "user catch-up failed; the next one retries"),
        };
        let mut found: HashMap<String, StoredAttributes> = found.into_iter().map(|a| (a.key_id.clone(), a)).collect();
        for key_id in keys {
            let change = match found.remove(&key_id) {
                Some(a) => UserChange { env_id, key_id, version: a.version, attributes: Some(a) },
                None => match self.users.get(&(env_id, key_id.clone())).map(|e| &e.held) {
                    // Nothing stored now, yet held: deleted, if what is held was applied before the read began
                    // (else the read may predate its commit).
                    Some(Held::Loaded { version, attributes: Some(_), applied_at }) if *applied_at < started => {
                        UserChange { env_id, key_id, version: version + 1, attributes: None }
                    }
                    _ => continue,
                },
            };
            self.apply_user(change);
        }
    }
}

fn loaded(version: i64, attributes: Option<Arc<StoredAttributes>>) -> Held {
    Held::Loaded { version, attributes, applied_at: Instant::now() }
}

impl Hub {
    /// Reads a user's stored attributes in a task; the index holds it as loading until [`UserLoaded`].
    fn load_user(&mut self, key: UserKey, ctx: &mut Context<Self>) {
        let held = Held::Loading { waiters: Vec::new(), newest: None };
        self.users.insert(key.clone(), UserEntry { sessions: HashSet::new(), held });
        let (store, hub) = (self.store.clone(), ctx.address());
        actix::spawn(async move {
            let result = store.user_attributes(key.0, &key.1).await;
            hub.do_send(UserLoaded { key, result });
        });
    }

    /// Applies a user message if it is newer than what is held, and tells that user's sessions.
    fn apply_user(&mut self, change: UserChange) {
        let Some(entry) = self.users.get_mut(&(change.env_id, change.key_id.clone())) else {
            return; // no session of this user here; a session that comes later reads the database
        };
        match &mut entry.held {
            Held::Loading { newest, .. } => {
                if newest.as_ref().is_none_or(|n| n.version < change.version) {
                    *newest = Some(change);
                }
            }
            Held::Loaded { version, .. } if *version >= change.version => {
                tracing::debug!(env = %change.env_id, "stale or duplicate user message ignored");
            }
            Held::Loaded { .. } => {
                let attributes = change.attributes.map(Arc::new);
                entry.held = loaded(change.version, attributes.clone());
                let push = AttributesChanged { attributes, applied_at: Instant::now() };
                let ids: Vec<_> = entry.sessions.iter().copied().collect();
                self.push_attributes(change.env_id, &ids, &push);
            }
        }
    }

    /// Sends `push` to the sessions `ids`; evicts those too slow to take it, like [`Hub::fan_out`].
    fn push_attributes(&mut self, env_id: Uuid, ids: &[SessionId], push: &AttributesChanged) {
        let Some(group) = self.sessions.get_mut(&env_id) else { return };
        let mut gone = Vec::new();
        for id in ids {
            let Some(link) = group.get(id).and_then(|s| s.user.as_ref()) else { continue };
            match link.attributes.try_send(push.clone()) {
                Ok(()) => {}
                Err(SendError::Full(_)) => {
                    tracing::warn!(session = %id, env = %env_id, "session too slow, closing");
                    metrics().push_evictions.add(1, &[]);
                    if let Some(s) = group.get(id) {
                        s.evict.do_send(Evict::TooSlow);
                    }
                    gone.push(*id);
                }
                Err(SendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            self.forget_session(env_id, id);
        }
    }

    /// Removes session `id` (and its place in the user index).
    pub(super) fn forget_session(&mut self, env_id: Uuid, id: SessionId) {
        let Some(group) = self.sessions.get_mut(&env_id) else { return };
        let link = group.remove(&id).and_then(|s| s.user);
        if group.is_empty() {
            self.sessions.remove(&env_id);
        }
        if let Some(link) = link {
            self.unindex(env_id, link.key_id, id);
        }
    }

    /// Drops session `id` from user `key_id`'s entry; the entry (and its cached attributes) goes with its last one.
    pub(super) fn unindex(&mut self, env_id: Uuid, key_id: String, id: SessionId) {
        let key = (env_id, key_id);
        if let Some(entry) = self.users.get_mut(&key) {
            entry.sessions.remove(&id);
            // A read in flight keeps its entry until it lands, so its waiters are answered.
            if entry.sessions.is_empty() && matches!(entry.held, Held::Loaded { .. }) {
                self.users.remove(&key);
            }
        }
    }

    /// Forgets every user of a deleted environment.
    pub(super) fn forget_users(&mut self, env_id: Uuid) {
        self.users.retain(|(env, _), _| *env != env_id);
    }

    /// Re-reads the stored attributes of every indexed user, one environment per task.
    pub(super) fn catch_up_users(&mut self, ctx: &mut Context<Self>) {
        let mut by_env: HashMap<Uuid, Vec<String>> = HashMap::new();
        for (env_id, key_id) in self.users.keys() {
            by_env.entry(*env_id).or_default().push(key_id.clone());
        }
        for (env_id, keys) in by_env {
            let (store, hub, started) = (self.store.clone(), ctx.address(), Instant::now());
            actix::spawn(async move {
                let result = store.users_attributes(env_id, &keys).await;
                hub.do_send(UsersCaughtUp { env_id, keys, started, result });
            });
        }
    }
}
