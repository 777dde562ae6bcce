//! The hub's message handlers.

use std::sync::Arc;

use actix::prelude::*;
use uuid::Uuid;

use super::messages::*;
use super::{Hub, HubError, SessionHandle, SessionId};
use bytestring::ByteString;
use vane_schema::wire::{FeatureFlag, Segment};

use crate::cache::Cache;
use crate::snapshot::{EnvSnapshot, SnapFlag, server_patch};
use crate::store::Store;

/// Loads an environment's flags and segments, from the shared cache when it holds them, else from the store
/// (then filling the cache); `UnknownEnvironment` if it does not exist.
async fn load(store: Store, cache: Cache, env_id: Uuid) -> Result<EnvSnapshot, HubError> {
    store.environment(env_id).await?.ok_or(HubError::UnknownEnvironment(env_id))?;
    if let Some((flags, segments)) = cache.environment(env_id).await {
        return Ok(EnvSnapshot::new(env_id, &flags, &segments));
    }
    let (flags, segments) = (store.flags(env_id).await?, store.segments(env_id).await?);
    cache.put_environment(env_id, &flags, &segments).await;
    Ok(EnvSnapshot::new(env_id, &flags, &segments))
}

impl Hub {
    /// The environment's snapshot, loading it when absent. Handlers using this are atomic (`AtomicResponse`), so
    /// concurrent requests for one environment load it once and no change is applied mid-load.
    fn ensure_loaded(&mut self, env_id: Uuid) -> ResponseActFuture<Self, Result<Arc<EnvSnapshot>, HubError>> {
        if let Some(snapshot) = self.registry.get(env_id) {
            return Box::pin(fut::ready(Ok(snapshot)));
        }
        Box::pin(
            load(self.store.clone(), self.cache.clone(), env_id)
                .into_actor(self)
                .map(|res, hub, _| res.map(|s| hub.publish(s))),
        )
    }
}

impl Handler<Connect> for Hub {
    type Result = AtomicResponse<Self, Result<SessionId, HubError>>;

    fn handle(&mut self, msg: Connect, _: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(Box::pin(self.ensure_loaded(msg.env_id).map(move |res, hub, _| {
            res?;
            hub.next_id += 1;
            let id = SessionId(hub.next_id);
            let handle = SessionHandle { kind: msg.kind, push: msg.push, evict: msg.evict };
            hub.sessions.entry(msg.env_id).or_default().insert(id, handle);
            Ok(id)
        })))
    }
}

impl Handler<Disconnect> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Self::Context) {
        if let Some(group) = self.sessions.get_mut(&msg.env_id) {
            group.remove(&msg.id);
            if group.is_empty() {
                self.sessions.remove(&msg.env_id);
            }
        }
    }
}

impl Handler<LoadEnv> for Hub {
    type Result = AtomicResponse<Self, Result<Arc<EnvSnapshot>, HubError>>;

    fn handle(&mut self, msg: LoadEnv, _: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(self.ensure_loaded(msg.0))
    }
}

impl Handler<FlagChanged> for Hub {
    type Result = ();

    fn handle(&mut self, FlagChanged(flag): FlagChanged, _: &mut Self::Context) {
        self.apply_flag(&flag);
    }
}

impl Handler<SegmentChanged> for Hub {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: SegmentChanged, _: &mut Self::Context) -> Self::Result {
        let SegmentChanged { change, bumped } = msg;
        let (store, env_id, ids) = (self.store.clone(), change.segment.env_id, change.affected_flag_ids);
        // Atomic: a later change must not overtake this one while the affected flags are read.
        AtomicResponse::new(Box::pin(
            async move {
                match bumped {
                    Some(flags) => flags,
                    None if ids.is_empty() => Vec::new(),
                    None => store.flags_by_ids(env_id, &ids).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot read the flags a segment change affects; catch-up will");
                        Vec::new()
                    }),
                }
            }
            .into_actor(self)
            .map(move |flags, hub, _| hub.apply_segment(&change.segment, &flags)),
        ))
    }
}

impl Hub {
    /// Applies a flag change if it is newer than what is held, and pushes it.
    pub(super) fn apply_flag(&mut self, flag: &FeatureFlag) {
        // Not loaded: nobody here holds it, and the next load reads the database.
        let Some(current) = self.registry.get(flag.env_id) else { return };
        let Some((next, changed)) = current.with_flag(flag) else {
            tracing::debug!(flag = %flag.key, "stale or duplicate flag change ignored");
            return;
        };
        let snapshot = self.publish(next);
        let flags: Arc<[_]> = Arc::from(vec![changed]);
        let frame = server_patch(&flags, &[]);
        self.push(flag.env_id, snapshot, flags, frame);
    }

    /// Applies a segment change (with the flags it bumped) if it is newer than what is held, and pushes it.
    pub(super) fn apply_segment(&mut self, segment: &Segment, bumped: &[FeatureFlag]) {
        let Some(current) = self.registry.get(segment.env_id) else { return };
        let Some(applied) = current.with_segment(segment, bumped) else {
            tracing::debug!(segment = %segment.id, "stale or duplicate segment change ignored");
            for flag in bumped {
                self.apply_flag(flag);
            }
            return;
        };
        let snapshot = self.publish(applied.snapshot);
        let frame = server_patch(&applied.changed, std::slice::from_ref(segment));
        self.push(segment.env_id, snapshot, Arc::from(applied.affected), frame);
    }

    fn push(&mut self, env_id: Uuid, snapshot: Arc<EnvSnapshot>, flags: Arc<[Arc<SnapFlag>]>, frame: ByteString) {
        let server = Push { kind: PushKind::Server, snapshot: snapshot.clone(), flags: flags.clone(), frame };
        self.fan_out(env_id, &server);
        if !flags.is_empty() {
            let client = Push { kind: PushKind::Client, snapshot, flags, frame: ByteString::default() };
            self.fan_out(env_id, &client);
        }
    }
}

impl Handler<SessionCount> for Hub {
    type Result = usize;

    fn handle(&mut self, _: SessionCount, _: &mut Self::Context) -> usize {
        self.sessions.values().map(|g| g.len()).sum()
    }
}
