//! The change bus: how a flag, segment, environment or user change (stored attributes) made on one node reaches the
//! hub of every node.
//!
//! * **In-process** (embedded mode): the change goes straight to this node's hub.
//! * **RabbitMQ** (cluster mode): the writing node applies the change to its own hub at once, then publishes it to
//!   a topic exchange with publisher confirms; every node consumes through its own client-named exclusive queue
//!   ([`listener::ChangeListener`]) into its hub. The hub ignores anything not newer than what it holds, so
//!   receiving one's own change, duplicates and reordering are harmless.
//!
//! A change is committed to the database before it is published, and every hub catches up from the database on
//! start, after each broker reconnect and periodically, so a lost message delays a change but never loses it.

pub mod amqp;
pub mod listener;

use actix::Addr;
use vane_schema::wire::FeatureFlag;
use vane_schema::wire::change::{Change, SegmentChange};

use tracing::Instrument as _;

use crate::hub::{EnvDeleted, FlagChanged, Hub, SecretsChanged, SegmentChanged, Traced, UserChanged};

/// Why a change could not be published (it is committed and will be picked up by catch-up).
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker refused, did not confirm in time, or is unreachable.
    #[error("change not confirmed by the broker")]
    Amqp(#[from] lapin::Error),
    /// No confirmation within the deadline.
    #[error("broker did not confirm the change in time")]
    Timeout,
    /// The broker nacked the message.
    #[error("broker rejected the change")]
    Nacked,
}

/// Publishes changes; cheap to clone.
#[derive(Clone)]
pub struct ChangeBus {
    /// This node's hub, always told first.
    hub: Addr<Hub>,
    /// The broker, in cluster mode.
    amqp: Option<amqp::ChangePublisher>,
}

impl ChangeBus {
    /// A bus that reaches only this node's hub (embedded mode).
    pub fn in_process(hub: Addr<Hub>) -> Self {
        Self { hub, amqp: None }
    }

    /// A bus that reaches every node through RabbitMQ.
    pub fn amqp(hub: Addr<Hub>, publisher: amqp::ChangePublisher) -> Self {
        Self { hub, amqp: Some(publisher) }
    }

    /// Applies a committed change here, then publishes it to the other nodes.
    pub async fn publish(&self, change: Change) -> Result<(), BusError> {
        let span = publish_span(&change);
        span.in_scope(|| deliver(&self.hub, change.clone()));
        self.to_other_nodes(&change).instrument(span).await
    }

    /// Applies a committed segment change, with the flags it bumped, here; then publishes it (other nodes read
    /// the bumped flags from the database, as FeatBit's evaluation server does).
    pub async fn publish_segment(&self, change: SegmentChange, bumped: Vec<FeatureFlag>) -> Result<(), BusError> {
        let message = Change::Segment(change.clone());
        let span = publish_span(&message);
        self.hub.do_send(Traced { msg: SegmentChanged { change, bumped: Some(bumped) }, span: span.clone() });
        self.to_other_nodes(&message).instrument(span).await
    }

    async fn to_other_nodes(&self, change: &Change) -> Result<(), BusError> {
        match &self.amqp {
            Some(publisher) => publisher.publish(change).await,
            None => Ok(()),
        }
    }
}

/// The span of one publish: this node's apply and the broker round trip (whose message carries its context).
fn publish_span(change: &Change) -> tracing::Span {
    tracing::info_span!("change.publish", messaging.destination = change.routing_key(), env = %change.env_id())
}

/// Hands a change to a hub and waits until the hub has applied it (so the broker message can be acked).
pub async fn deliver_and_wait(hub: &Addr<Hub>, change: Change) {
    let sent = match change {
        Change::Flag(flag) => hub.send(Traced::current(FlagChanged(flag))).await,
        Change::Segment(change) => hub.send(Traced::current(SegmentChanged { change, bumped: None })).await,
        Change::EnvironmentDeleted(e) => hub.send(Traced::current(EnvDeleted(e.env_id))).await,
        Change::EnvironmentSecrets(e) => hub.send(Traced::current(SecretsChanged(e))).await,
        Change::User(change) => hub.send(Traced::current(UserChanged(change))).await,
    };
    if let Err(e) = sent {
        tracing::error!(error = %e, "hub did not take a change");
    }
}

/// Hands a change to a hub.
pub fn deliver(hub: &Addr<Hub>, change: Change) {
    match change {
        Change::Flag(flag) => hub.do_send(Traced::current(FlagChanged(flag))),
        Change::Segment(change) => hub.do_send(Traced::current(SegmentChanged { change, bumped: None })),
        Change::EnvironmentDeleted(e) => hub.do_send(Traced::current(EnvDeleted(e.env_id))),
        Change::EnvironmentSecrets(e) => hub.do_send(Traced::current(SecretsChanged(e))),
        Change::User(change) => hub.do_send(Traced::current(UserChanged(change))),
    }
}
