//! Loading an environment the hub does not hold yet, without blocking the hub: the read runs in a spawned task
//! (cache first, then the database) and comes back as [`Loaded`]. Requests for the same environment wait on the
//! one load; changes for it that arrive meanwhile are held and applied on top of the loaded snapshot, so a change
//! committed after the read began is never lost.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::messages::{Connect, FlagChanged, SegmentChanged};
use super::{Hub, HubError, SessionId, Source};
use crate::cache::Cache;
use crate::snapshot::EnvSnapshot;
use crate::store::Store;

/// Someone waiting for an environment to be loaded.
pub(super) enum Waiter {
    /// A session to register once loaded.
    Session(Connect, oneshot::Sender<Result<SessionId, HubError>>),
    /// A caller that wants the snapshot.
    Snapshot(oneshot::Sender<Result<Arc<EnvSnapshot>, HubError>>),
}

/// A change that arrived while its environment was loading.
pub(super) enum Deferred {
    Flag(FlagChanged),
    Segment(SegmentChanged),
}

/// One load in flight.
#[derive(Default)]
pub(super) struct Loading {
    /// Answered when the load completes.
    waiters: Vec<Waiter>,
    /// Applied, in arrival order, on top of the loaded snapshot.
    deferred: Vec<Deferred>,
    /// The environment was deleted while loading: answer `UnknownEnvironment`, publish nothing.
    deleted: bool,
}

/// The result of a load, sent by the load task to the hub.
#[derive(Message)]
#[rtype(result = "()")]
struct Loaded {
    env_id: Uuid,
    result: Result<EnvSnapshot, HubError>,
}

/// Loads an environment's flags and segments, from the shared cache when it holds them, else from the store
/// (then filling the cache); `UnknownEnvironment` if it does not exist.
async fn read(store: Store, cache: Cache, env_id: Uuid) -> Result<EnvSnapshot, HubError> {
    store.environment(env_id).await?.ok_or(HubError::UnknownEnvironment(env_id))?;
    if let Some((flags, segments)) = cache.environment(env_id).await {
        return Ok(EnvSnapshot::new(env_id, &flags, &segments));
    }
    let (flags, segments) = (store.flags(env_id).await?, store.segments(env_id).await?);
    cache.put_environment(env_id, &flags, &segments).await;
    Ok(EnvSnapshot::new(env_id, &flags, &segments))
}

impl Hub {
    /// Queues `waiter` for `env_id`, starting the load unless one is in flight.
    pub(super) fn await_load(&mut self, env_id: Uuid, waiter: Waiter, ctx: &mut Context<Self>) {
        let loading = self.loading.entry(env_id).or_default();
        loading.waiters.push(waiter);
        if loading.waiters.len() > 1 {
            return;
        }
        let (store, cache, hub) = (self.store.clone(), self.cache.clone(), ctx.address());
        actix::spawn(async move {
            let result = read(store, cache, env_id).await;
            hub.do_send(Loaded { env_id, result });
        });
    }

    /// Holds a change for an environment being loaded; returns it back when the environment is not loading.
    pub(super) fn defer(&mut self, env_id: Uuid, change: Deferred) -> Option<Deferred> {
        match self.loading.get_mut(&env_id) {
            Some(loading) => {
                loading.deferred.push(change);
                None
            }
            None => Some(change),
        }
    }

    /// The environment was deleted: a load in flight must not publish it.
    pub(super) fn forget_loading(&mut self, env_id: Uuid) {
        if let Some(loading) = self.loading.get_mut(&env_id) {
            loading.deleted = true;
        }
    }

    /// Registers a session of a loaded environment.
    pub(super) fn register(&mut self, msg: Connect) -> SessionId {
        self.next_id += 1;
        let id = SessionId(self.next_id);
        let handle = super::SessionHandle {
            kind: msg.kind,
            push: msg.push,
            evict: msg.evict,
            secret_id: msg.secret_id,
            user: None,
        };
        self.sessions.entry(msg.env_id).or_default().insert(id, handle);
        id
    }

    fn answer(&mut self, waiters: Vec<Waiter>, result: &Result<Arc<EnvSnapshot>, HubError>) {
        for waiter in waiters {
            // A waiter that gave up (its receiver dropped) is simply not answered.
            let _ = match waiter {
                Waiter::Session(msg, tx) => tx.send(result.clone().map(|_| self.register(msg))).is_ok(),
                Waiter::Snapshot(tx) => tx.send(result.clone()).is_ok(),
            };
        }
    }
}

impl Handler<Loaded> for Hub {
    type Result = ();

    fn handle(&mut self, Loaded { env_id, result }: Loaded, ctx: &mut Self::Context) {
        let Some(loading) = self.loading.remove(&env_id) else { return };
        let result = match result {
            Ok(_) if loading.deleted => Err(HubError::UnknownEnvironment(env_id)),
            Ok(snapshot) => Ok(self.publish(snapshot)),
            Err(e) => {
                tracing::warn!(env = %env_id, error = %e, "cannot load environment");
                Err(e)
            }
        };
        let loaded = result.is_ok();
        self.answer(loading.waiters, &result);
        if !loaded {
            return;
        }
        for change in loading.deferred {
            match change {
                Deferred::Flag(FlagChanged(flag)) => self.apply_flag(&flag, Source::Bus),
                Deferred::Segment(msg) => self.segment_changed(msg, ctx),
            }
        }
    }
}
