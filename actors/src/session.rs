//! `SdkSession`: one actor per SDK WebSocket, reading frames through actix-ws and writing through one ordered path.
//!
//! Lifecycle: `started` registers with the [`Hub`] (blocking other events until the hub answered, so the session
//! id is known before any frame is handled), then frames and pushes are handled one at a time. Every write waits
//! for the socket (with a timeout), so a slow socket shows up as a full mailbox, which the hub answers with
//! [`Evict`]. `stopping` deregisters.

mod lifecycle;
mod observe;
pub mod protocol;
mod slots;
mod sync_guard;
mod write;

pub use self::write::WriteBudget;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use uuid::Uuid;
use vane_schema::secret::SecretType;
use vane_schema::wire::sdk::{DataSyncRequest, EventType, PONG_FRAME};
use vane_schema::wire::{EndUser, StoredAttributes};

pub use self::lifecycle::{Drain, DrainSignal};
use self::observe::Timing;
use self::protocol::{Inbound, close};
pub use self::slots::{CapExceeded, SessionCaps, SessionCounts, SessionSlot};
use crate::hub::{
    AttributesChanged, Connect, Disconnect, Evict, Hub, HubError, Identify, Push, SessionId, SnapshotRegistry,
};

use crate::access::SecretInfo;
use crate::rate_limit::{Meter, PolicyConfig};

/// Called with every user a client SDK attaches (the end-user flow).
pub type UserSink = Arc<dyn Fn(Uuid, &EndUser) + Send + Sync>;

/// How sessions behave; from the `[streaming]` settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Close a session that sent nothing for this long.
    pub client_timeout: Duration,
    /// Pushes queued before the session counts as too slow.
    pub outbound_queue: usize,
    /// Longest wait for the socket to accept one frame (or one fragment of a large frame).
    pub write_timeout: Duration,
    /// Node-wide bound on large-frame bytes in flight, shared by every session.
    pub write_budget: WriteBudget,
    /// Close with 1001 after about this long (with jitter), so connections rebalance after a scale-out.
    pub max_connection_age: Option<Duration>,
    /// Most open sessions on the node and per environment.
    pub caps: SessionCaps,
    /// `data-sync` frames allowed per session (`[rate_limits.data_sync]`).
    pub data_sync: PolicyConfig,
}

/// What a session needs besides its socket.
#[derive(Clone)]
pub struct SessionDeps {
    /// The node's hub.
    pub hub: Addr<Hub>,
    /// Published snapshots.
    pub registry: SnapshotRegistry,
    /// End-user flow.
    pub users: UserSink,
    /// Behaviour.
    pub config: SessionConfig,
    /// What an attached user may carry (`[limits]`), checked before it is evaluated or stored.
    pub limits: crate::ingest::Limits,
    /// Fires when the node drains: the session closes with 1001.
    pub drain: DrainSignal,
    /// Open sessions per environment and type (`/status`).
    pub counts: SessionCounts,
}

/// One SDK connection.
pub struct SdkSession {
    /// Assigned by the hub once registered.
    id: Option<SessionId>,
    /// The environment and whether this is a server or client SDK (from its validated token).
    access: SecretInfo,
    /// Write half of the socket.
    ws: actix_ws::Session,
    /// Read half, handed to the context on start.
    stream: Option<AggregatedMessageStream>,
    /// Hub, registry, user sink and config.
    deps: SessionDeps,
    /// The user a client SDK attached with its latest data-sync (`identify` replaces it), as sent.
    user: Option<EndUser>,
    /// The stored attributes of that user (from the hub's index), merged over what the SDK sent.
    stored: Option<Arc<StoredAttributes>>,
    /// What flags are evaluated for: `user` merged with `stored`.
    merged: Option<EndUser>,
    /// Last frame from the SDK, for the idle timeout.
    last_seen: Instant,
    /// The close code sent or received, for `vane.session.closes` (none: the socket just ended).
    close_code: Option<u16>,
    /// This session's `data-sync`s, against `config.data_sync`.
    sync_meter: Meter,
    /// When `user` was last handed to the end-user flow.
    sighted: Option<Instant>,
    /// Its place in the node's session counts, given back when the actor is dropped.
    _slot: SessionSlot,
}

impl SdkSession {
    /// Starts a session on the current arbiter (the socket stream is not `Send`), in the place `slot` took.
    pub fn start(
        (access, slot): (SecretInfo, SessionSlot),
        ws: actix_ws::Session,
        stream: AggregatedMessageStream,
        deps: SessionDeps,
    ) -> Addr<Self> {
        let sync_meter = Meter::new(&deps.config.data_sync, Instant::now());
        Self {
            id: None,
            access,
            ws,
            stream: Some(stream),
            deps,
            user: None,
            stored: None,
            merged: None,
            last_seen: Instant::now(),
            close_code: None,
            sync_meter,
            sighted: None,
            _slot: slot,
        }
        .start()
    }

    /// Writes one frame; waits for the socket so frames stay ordered. A closed or stuck socket ends the session.
    fn send(&self, ctx: &mut Context<Self>, text: ByteString) {
        self.write(ctx, text, None);
    }

    /// [`send`](Self::send), then records `timing` (a push or a data-sync reply) once the socket took the frame.
    fn write(&self, ctx: &mut Context<Self>, text: ByteString, timing: Option<Timing>) {
        let mut ws = self.ws.clone();
        let (budget, timeout) = (self.deps.config.write_budget.clone(), self.deps.config.write_timeout);
        ctx.wait(async move { write::write(&mut ws, text, &budget, timeout).await }.into_actor(self).map(
            move |res, _, ctx| {
                if res.is_err() {
                    return ctx.stop();
                }
                if let Some(timing) = timing {
                    timing.record();
                }
            },
        ));
    }

    /// Sends a close frame, then stops.
    fn close(&mut self, ctx: &mut Context<Self>, code: u16, description: &str) {
        self.close_code.get_or_insert(code);
        let ws = self.ws.clone();
        let reason = CloseReason { code: CloseCode::from(code), description: Some(description.to_owned()) };
        let timeout = self.deps.config.write_timeout;
        ctx.wait(
            async move { tokio::time::timeout(timeout, ws.close(Some(reason))).await }
                .into_actor(self)
                .map(|_, _, ctx| ctx.stop()),
        );
    }

    fn register(&self, ctx: &mut Context<Self>) {
        let connect = Connect {
            env_id: self.access.env_id,
            kind: self.access.kind,
            push: ctx.address().recipient(),
            evict: ctx.address().recipient(),
            secret_id: self.access.id,
        };
        ctx.wait(self.deps.hub.send(connect).into_actor(self).map(|res, act, ctx| match res {
            Ok(Ok(id)) => act.id = Some(id),
            Ok(Err(HubError::UnknownEnvironment(_) | HubError::SecretRevoked)) => {
                act.close(ctx, close::INVALID_REQUEST, "invalid request, close by server")
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "session could not register");
                act.close(ctx, close::UNAVAILABLE, "service unavailable, close by server");
            }
            Err(e) => {
                tracing::error!(error = %e, "hub unreachable");
                act.close(ctx, close::UNAVAILABLE, "service unavailable, close by server");
            }
        }));
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        match protocol::parse(text) {
            Inbound::Ping => self.send(ctx, ByteString::from_static(PONG_FRAME)),
            Inbound::Echo(data) => self.send(ctx, protocol::echo_frame(&data).into()),
            Inbound::DataSync(req) => self.data_sync(req, ctx),
            Inbound::Ignored(why) => tracing::debug!(why, "frame ignored"),
        }
    }

    fn data_sync(&mut self, req: DataSyncRequest, ctx: &mut Context<Self>) {
        if !self.sync_allowed(ctx) {
            return;
        }
        let event_type = EventType::for_timestamp(req.timestamp);
        let span = tracing::info_span!(
            "data-sync",
            sdk_type = self.access.kind.as_str(),
            full = event_type == EventType::Full
        );
        let _entered = span.enter();
        let timing = Timing::Sync(Instant::now(), event_type, span.clone());
        let Some(snapshot) = self.deps.registry.get(self.access.env_id) else {
            return self.close(ctx, close::UNAVAILABLE, "service unavailable, close by server");
        };
        let frame = match self.access.kind {
            SecretType::Server => snapshot.server_sync(req.timestamp),
            SecretType::Client => {
                let Some(user) = req.user.filter(EndUser::is_valid) else {
                    return tracing::debug!("client data-sync without a valid user ignored");
                };
                if let Err(e) = self.deps.limits.check_user(&user) {
                    tracing::debug!(error = %e, "client data-sync user refused");
                    return self.close(ctx, close::INVALID_REQUEST, "invalid request, close by server");
                }
                self.sight(&user);
                return self.identify(user, req.timestamp, timing, ctx);
            }
        };
        self.write(ctx, frame, Some(timing));
    }

    /// Attaches a client SDK's user: a new user key is indexed by the hub, which answers with its stored
    /// attributes (no other event is handled meanwhile, so no push is evaluated for a half-attached user); then
    /// the sync is answered for the merged user.
    fn identify(&mut self, user: EndUser, timestamp: i64, timing: Timing, ctx: &mut Context<Self>) {
        let (Some(id), false) = (self.id, self.user.as_ref().is_some_and(|u| u.key_id == user.key_id)) else {
            return self.client_sync(user, timestamp, timing, ctx);
        };
        let identify = Identify {
            env_id: self.access.env_id,
            id,
            key_id: user.key_id.clone(),
            attributes: ctx.address().recipient(),
        };
        ctx.wait(self.deps.hub.send(identify).into_actor(self).map(move |stored, act, ctx| {
            act.stored = stored.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "hub unreachable; syncing without stored attributes");
                None
            });
            act.client_sync(user, timestamp, timing, ctx);
        }));
    }

    fn client_sync(&mut self, user: EndUser, timestamp: i64, timing: Timing, ctx: &mut Context<Self>) {
        let Some(snapshot) = self.deps.registry.get(self.access.env_id) else {
            return self.close(ctx, close::UNAVAILABLE, "service unavailable, close by server");
        };
        let merged = self.stored.as_ref().map_or_else(|| user.clone(), |s| user.merged(s));
        let frame = snapshot.client_sync(&merged, timestamp);
        (self.user, self.merged) = (Some(user), Some(merged));
        self.write(ctx, frame, Some(timing));
    }
}

impl Actor for SdkSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.deps.config.outbound_queue);
        if let Some(stream) = self.stream.take() {
            ctx.add_stream(stream);
        }
        self.register(ctx);
        self.watch_lifecycle(ctx);
        self.count(true);
        let every = (self.deps.config.client_timeout / 3).max(Duration::from_millis(100));
        ctx.run_interval(every, |act, ctx| {
            if act.last_seen.elapsed() > act.deps.config.client_timeout {
                act.close(ctx, close::NORMAL, "idle timeout, close by server");
            }
        });
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        if let Some(id) = self.id.take() {
            self.deps.hub.do_send(Disconnect { env_id: self.access.env_id, id });
        }
        Running::Stop
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.count(false);
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for SdkSession {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(&text, ctx),
            Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Ping(bytes)) => {
                let mut ws = self.ws.clone();
                ctx.wait(async move { ws.pong(&bytes).await }.into_actor(self).map(|_, _, _| ()));
            }
            Ok(AggregatedMessage::Close(reason)) => {
                self.close_code.get_or_insert(reason.as_ref().map_or(close::NO_STATUS, |r| r.code.into()));
                // Complete the close handshake, echoing the peer's code as FeatBit does.
                let ws = self.ws.clone();
                ctx.wait(async move { ws.close(reason).await }.into_actor(self).map(|_, _, ctx| ctx.stop()));
            }
            Err(e) if protocol::is_oversize(&e) => self.close(ctx, close::TOO_BIG, "frame too large, close by server"),
            Err(e) => {
                tracing::debug!(error = %e, "socket protocol error");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Push> for SdkSession {
    type Result = ();

    fn handle(&mut self, push: Push, ctx: &mut Self::Context) {
        match (&self.access.kind, &self.user) {
            (SecretType::Server, _) => self.write(ctx, push.frame, Some(Timing::Push(push.applied_at, push.span))),
            (SecretType::Client, Some(_)) => {
                let Some(user) = &self.merged else { return };
                let frame = push.snapshot.client_patch(user, &push.flags);
                self.write(ctx, frame, Some(Timing::Push(push.applied_at, push.span)));
            }
            // No user attached yet: its first data-sync will carry the current state.
            (SecretType::Client, None) => {}
        }
    }
}

impl Handler<AttributesChanged> for SdkSession {
    type Result = ();

    /// Re-evaluates with the new merged user and pushes only the flags whose result changed (nothing if none).
    fn handle(&mut self, msg: AttributesChanged, ctx: &mut Self::Context) {
        let (Some(user), Some(before)) = (&self.user, &self.merged) else { return };
        let after = msg.attributes.as_ref().map_or_else(|| user.clone(), |s| user.merged(s));
        let changed = self.deps.registry.get(self.access.env_id).map(|s| (s.flags_changed_for(before, &after), s));
        (self.stored, self.merged) = (msg.attributes, Some(after));
        let Some((flags, snapshot)) = changed.filter(|(flags, _)| !flags.is_empty()) else { return };
        let frame = snapshot.client_patch(self.merged.as_ref().unwrap_or(user), &flags);
        self.write(ctx, frame, Some(Timing::Push(msg.applied_at, tracing::Span::current())));
    }
}

impl Handler<Evict> for SdkSession {
    type Result = ();

    fn handle(&mut self, evict: Evict, ctx: &mut Self::Context) {
        self.id = None; // the hub already forgot this session
        match evict {
            Evict::TooSlow => self.close(ctx, close::TRY_AGAIN_LATER, "too slow, close by server"),
            Evict::EnvironmentDeleted | Evict::SecretRevoked => {
                self.close(ctx, close::INVALID_REQUEST, "invalid request, close by server")
            }
        }
    }
}
