//! The hub's message handlers: sessions, loads and changes from the bus.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::oneshot;
use tracing::Instrument as _;
use tracing::field::Empty;
use uuid::Uuid;
use vane_schema::wire::time::{now_ms, unix_ms};
use vane_schema::wire::{FeatureFlag, Segment};

use super::load::{Deferred, Waiter};
use super::messages::*;
use super::{Hub, HubError, SessionId, Source};
use crate::metrics::{attr, label, metrics};
use crate::snapshot::{EnvSnapshot, SnapFlag, server_patch};

impl Handler<Connect> for Hub {
    type Result = ResponseFuture<Result<SessionId, HubError>>;

    fn handle(&mut self, msg: Connect, ctx: &mut Self::Context) -> Self::Result {
        if self.secrets.revoked(msg.env_id, msg.secret_id) {
            return Box::pin(async { Err(HubError::SecretRevoked) });
        }
        if self.registry.get(msg.env_id).is_some() {
            let id = self.register(msg);
            return Box::pin(async move { Ok(id) });
        }
        let (tx, rx) = oneshot::channel();
        self.await_load(msg.env_id, Waiter::Session(msg, tx), ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(HubError::Interrupted)) })
    }
}

impl Handler<Disconnect> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Self::Context) {
        self.forget_session(msg.env_id, msg.id);
    }
}

impl Handler<LoadEnv> for Hub {
    type Result = ResponseFuture<Result<Arc<EnvSnapshot>, HubError>>;

    fn handle(&mut self, LoadEnv(env_id): LoadEnv, ctx: &mut Self::Context) -> Self::Result {
        if let Some(snapshot) = self.registry.get(env_id) {
            return Box::pin(async move { Ok(snapshot) });
        }
        let (tx, rx) = oneshot::channel();
        self.await_load(env_id, Waiter::Snapshot(tx), ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(HubError::Interrupted)) })
    }
}

/// A change in its sender's span: handled as the bare change, inside that span.
macro_rules! traced {
    ($($message:ty),*) => {$(
        impl Handler<Traced<$message>> for Hub {
            type Result = ();

            fn handle(&mut self, Traced { msg, span }: Traced<$message>, ctx: &mut Self::Context) {
                let _entered = span.enter();
                <Self as Handler<$message>>::handle(self, msg, ctx);
            }
        }
    )*};
}

traced!(FlagChanged, SegmentChanged, EnvDeleted, SecretsChanged, UserChanged);

impl Handler<FlagChanged> for Hub {
    type Result = ();

    fn handle(&mut self, msg: FlagChanged, _: &mut Self::Context) {
        if let Some(Deferred::Flag(FlagChanged(flag))) = self.defer(msg.0.env_id, Deferred::Flag(msg)) {
            self.apply_flag(&flag, Source::Bus);
        }
    }
}

impl Handler<SegmentChanged> for Hub {
    type Result = ();

    fn handle(&mut self, msg: SegmentChanged, ctx: &mut Self::Context) {
        if let Some(Deferred::Segment(msg)) = self.defer(msg.change.segment.env_id, Deferred::Segment(msg)) {
            self.segment_changed(msg, ctx);
        }
    }
}

impl Hub {
    /// Applies a segment change; when the sender did not include the flags it bumped, they are read in a task and
    /// the change comes back with them. A newer change overtaking this one meanwhile is harmless: whichever is
    /// older is ignored when applied.
    pub(super) fn segment_changed(&mut self, msg: SegmentChanged, ctx: &mut Context<Self>) {
        let SegmentChanged { change, bumped } = msg;
        let env_id = change.segment.env_id;
        if self.registry.get(env_id).is_none() {
            return; // not loaded: the next load reads the database
        }
        match bumped {
            Some(flags) => self.apply_segment(&change.segment, &flags, Source::Bus),
            None if change.affected_flag_ids.is_empty() => self.apply_segment(&change.segment, &[], Source::Bus),
            None => {
                let (store, hub, ids) = (self.store.clone(), ctx.address(), change.affected_flag_ids.clone());
                let read = async move {
                    let flags = store.flags_by_ids(env_id, &ids).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot read the flags a segment change affects; catch-up will");
                        Vec::new()
                    });
                    hub.do_send(Traced::current(SegmentChanged { change, bumped: Some(flags) }));
                };
                actix::spawn(read.instrument(tracing::info_span!("db.read_segment_flags")));
            }
        }
    }

    /// Applies a flag change if it is newer than what is held, and pushes it.
    pub(super) fn apply_flag(&mut self, flag: &FeatureFlag, source: Source) {
        // Not loaded: nobody here holds it, and the next load reads the database.
        let Some(current) = self.registry.get(flag.env_id) else { return };
        let Some((next, changed)) = current.with_flag(flag) else {
            tracing::debug!(flag = %flag.key, "stale or duplicate flag change ignored");
            return;
        };
        let span = tracing::info_span!("hub.apply", env = %flag.env_id, flag = %flag.key, source = source.as_str());
        let _entered = span.enter();
        record_lag(source, &flag.updated_at);
        let snapshot = self.publish(next);
        let flags: Arc<[_]> = Arc::from(vec![changed]);
        let frame = server_patch(&flags, &[]);
        self.push(flag.env_id, snapshot, flags, frame);
    }

    /// Applies a segment change (with the flags it bumped) if it is newer than what is held, and pushes it.
    pub(super) fn apply_segment(&mut self, segment: &Segment, bumped: &[FeatureFlag], source: Source) {
        let Some(current) = self.registry.get(segment.env_id) else { return };
        let Some(applied) = current.with_segment(segment, bumped) else {
            tracing::debug!(segment = %segment.id, "stale or duplicate segment change ignored");
            for flag in bumped {
                self.apply_flag(flag, source);
            }
            return;
        };
        let span =
            tracing::info_span!("hub.apply", env = %segment.env_id, segment = %segment.id, source = source.as_str());
        let _entered = span.enter();
        record_lag(source, &segment.updated_at);
        let snapshot = self.publish(applied.snapshot);
        let frame = server_patch(&applied.changed, std::slice::from_ref(segment));
        self.push(segment.env_id, snapshot, Arc::from(applied.affected), frame);
    }

    /// Pushes an applied change to the environment's sessions under one `push` span, which records how many
    /// sessions took it and stays open until the last of them has written its frame.
    fn push(&mut self, env_id: Uuid, snapshot: Arc<EnvSnapshot>, flags: Arc<[Arc<SnapFlag>]>, frame: ByteString) {
        let applied_at = Instant::now();
        let span = tracing::info_span!("push", sessions = Empty, evicted = Empty);
        let server = Push {
            kind: PushKind::Server,
            snapshot: snapshot.clone(),
            flags: flags.clone(),
            frame,
            applied_at,
            span: span.clone(),
        };
        let (mut sent, mut evicted) = self.fan_out(env_id, &server);
        if !flags.is_empty() {
            let client = Push { kind: PushKind::Client, frame: ByteString::default(), ..server };
            let (s, e) = self.fan_out(env_id, &client);
            (sent, evicted) = (sent + s, evicted + e);
        }
        span.record("sessions", sent);
        span.record("evicted", evicted);
        tracing::debug!(env = %env_id, sessions = sent, evicted, "change pushed");
    }
}

/// `vane.change.lag`: from the change's commit (its `updatedAt`) to its application on this node.
fn record_lag(source: Source, updated_at: &chrono::DateTime<chrono::Utc>) {
    let lag_ms = (unix_ms(&now_ms()) - unix_ms(updated_at)).max(0);
    metrics().change_lag.record(lag_ms as f64 / 1000.0, &label(attr::SOURCE, source.as_str()));
}

impl Handler<SessionCount> for Hub {
    type Result = usize;

    fn handle(&mut self, _: SessionCount, _: &mut Self::Context) -> usize {
        self.sessions.values().map(|g| g.len()).sum()
    }
}
