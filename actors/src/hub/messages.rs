//! The hub's public protocol: what sessions, routes and the change bus send it, and what it pushes to sessions.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use bytestring::ByteString;
use uuid::Uuid;
use vane_schema::secret::SecretType;
use vane_schema::wire::change::{EnvironmentSecrets, SegmentChange, UserChange};
use vane_schema::wire::{FeatureFlag, StoredAttributes};

use super::{HubError, SessionId};
use crate::snapshot::{EnvSnapshot, SnapFlag};

/// A session registers for pushes of its environment. Loads the environment first if needed.
#[derive(Message)]
#[rtype(result = "Result<SessionId, HubError>")]
pub struct Connect {
    /// The session's environment.
    pub env_id: Uuid,
    /// Server or client SDK.
    pub kind: SecretType,
    /// Bounded push channel (the session's mailbox).
    pub push: Recipient<Push>,
    /// Unbounded close channel.
    pub evict: Recipient<Evict>,
    /// The secret the session was opened with (closed with 4003 when it is revoked).
    pub secret_id: Uuid,
}

/// A session is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// Its environment.
    pub env_id: Uuid,
    /// The id `Connect` returned.
    pub id: SessionId,
}

/// Makes sure an environment's snapshot is loaded (HTTP endpoints call this on a registry miss).
#[derive(Message)]
#[rtype(result = "Result<Arc<EnvSnapshot>, HubError>")]
pub struct LoadEnv(pub Uuid);

/// A flag was created or changed (from the bus).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct FlagChanged(pub FeatureFlag);

/// A segment was created or changed (from the bus). `bumped` carries the affected flags as the change bumped
/// them when the sender has them at hand; otherwise the hub reads `affected_flag_ids` from the store, as FeatBit's
/// evaluation server does.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SegmentChanged {
    /// FeatBit's segment-change body.
    pub change: SegmentChange,
    /// The affected flags after the change, if known.
    pub bumped: Option<Vec<FeatureFlag>>,
}

/// A change message with the span it was sent from: the hub applies `msg` inside that span, so the apply and the
/// push join the trace of whatever caused the change (a REST call here, a broker delivery from another node).
pub struct Traced<M> {
    /// The change.
    pub msg: M,
    /// The sender's span.
    pub span: tracing::Span,
}

impl<M> Traced<M> {
    /// `msg` in the current span.
    pub fn current(msg: M) -> Self {
        Self { msg, span: tracing::Span::current() }
    }
}

impl<M: Message<Result = ()>> Message for Traced<M> {
    type Result = ();
}

/// An environment was deleted: forget it and close its sessions.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct EnvDeleted(pub Uuid);

/// An environment was created or its secrets rotated (from the bus): update the secret index and close the
/// sessions opened with a revoked secret.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SecretsChanged(pub EnvironmentSecrets);

/// A secret of this known environment was unknown here: re-read the environment's secrets (throttled by the
/// index, so a flood of unknown secrets costs one read per environment per window).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct RefreshSecrets(pub Uuid);

/// Catch up from the database: apply to every loaded environment whatever is newer there (after a broker
/// reconnect, on start, periodically).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Resync;

/// How many sessions the hub holds (ops and tests).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct SessionCount;

/// Which sessions a push is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    /// Only server SDK sessions.
    Server,
    /// Only client SDK sessions.
    Client,
}

impl PushKind {
    /// Whether a session of `kind` receives this push.
    pub fn includes(self, kind: SecretType) -> bool {
        matches!((self, kind), (Self::Server, SecretType::Server) | (Self::Client, SecretType::Client))
    }
}

/// A change pushed to sessions. Server sessions write `frame` as is; client sessions evaluate `flags` against
/// `snapshot` for their own user.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Push {
    /// Who it is for.
    pub kind: PushKind,
    /// The snapshot the change produced.
    pub snapshot: Arc<EnvSnapshot>,
    /// Flags to re-evaluate (client pushes).
    pub flags: Arc<[Arc<SnapFlag>]>,
    /// The serialized frame (server pushes).
    pub frame: ByteString,
    /// When the hub applied the change (`vane.push.duration` runs from here to the frame written).
    pub applied_at: Instant,
    /// The fan-out span: one per change, not per session; it ends when the last session has written the frame
    /// (each session holds a handle until then).
    pub span: tracing::Span,
}

/// Tells a session to close.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub enum Evict {
    /// It fell too far behind (close 1013).
    TooSlow,
    /// Its environment was deleted (close 4003: the secret is gone for good).
    EnvironmentDeleted,
    /// The secret it was opened with was revoked (close 4003).
    SecretRevoked,
}

/// A client session attached user `key_id` (its first data-sync, or an `identify` to another user): the hub indexes
/// it under (environment, user key) and answers with the user's stored attributes, read outside the hub's mailbox
/// when this node holds no session of that user yet.
#[derive(Message)]
#[rtype(result = "Option<Arc<StoredAttributes>>")]
pub struct Identify {
    /// The session's environment.
    pub env_id: Uuid,
    /// The id `Connect` returned.
    pub id: SessionId,
    /// The user's key (never blank).
    pub key_id: String,
    /// Where this user's attribute changes go (bounded, like pushes).
    pub attributes: Recipient<AttributesChanged>,
}

/// A user's stored attributes were set or forgotten (a user message from the bus or the catch-up).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct UserChanged(pub UserChange);

/// Pushed to each client session of a user whose stored attributes changed: the session re-evaluates with the new
/// merged context and sends a patch of the flags whose result changed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AttributesChanged {
    /// The new stored attributes (`None`: the user was deleted).
    pub attributes: Option<Arc<StoredAttributes>>,
    /// When the hub applied the change (`vane.push.duration`).
    pub applied_at: Instant,
}
