//! `ChangeListener`: this node's consumer of the change exchange. It owns a client-named, exclusive, auto-delete
//! queue (a server-named queue cannot be re-declared by lapin's recovery), hands each change to the hub and acks
//! it only once the hub accepted it. Each reconnect of the broker connection triggers a catch-up from the
//! database, since changes published while this node was away are gone with its queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::prelude::*;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Event};
use uuid::Uuid;
use vane_schema::wire::change::{
    Change, ENVIRONMENT_DELETED, ENVIRONMENT_SECRETS, FLAG_CHANGE, SEGMENT_CHANGE, USER_CHANGE,
};

use super::amqp::{self, AmqpConfig};
use super::{BusError, deliver_and_wait};
use crate::hub::{Hub, Resync};
use crate::propagation::continue_trace;

/// Unacked changes in flight from the broker.
const PREFETCH: u16 = 256;
/// Delay before reconnecting after the connection was lost for good.
const RESTART_BACKOFF: Duration = Duration::from_secs(2);

/// Consumes changes into the hub.
pub struct ChangeListener {
    /// Broker settings.
    config: AmqpConfig,
    /// Where changes go.
    hub: Addr<Hub>,
    /// This node's queue name; stable across reconnects so recovery can re-declare it.
    queue: String,
    /// The open connection (kept so it is not dropped).
    conn: Option<Connection>,
    /// The consuming channel (for acks and recovery).
    channel: Option<Channel>,
    /// Whether changes are flowing (readiness); shared with the health endpoint.
    healthy: Arc<AtomicBool>,
}

impl ChangeListener {
    /// Starts the listener under a supervisor; it connects in the background and retries until it can.
    pub fn start(config: AmqpConfig, hub: Addr<Hub>, healthy: Arc<AtomicBool>) -> Addr<Self> {
        let queue = format!("vane.changes.{}-{}", std::process::id(), Uuid::new_v4().simple());
        Supervisor::start(move |_| Self { config, hub, queue, conn: None, channel: None, healthy })
    }

    async fn subscribe(config: AmqpConfig, queue: String) -> Result<(Connection, Channel, lapin::Consumer), BusError> {
        let conn = amqp::connect(&config, "vane-change-listener").await?;
        let channel = conn.create_channel().await?;
        amqp::declare_exchange(&channel, &config.exchange).await?;
        let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
        channel.queue_declare(queue.as_str().into(), options, FieldTable::default()).await?;
        for key in [FLAG_CHANGE, SEGMENT_CHANGE, ENVIRONMENT_DELETED, ENVIRONMENT_SECRETS, USER_CHANGE] {
            let (q, x) = (queue.as_str().into(), config.exchange.as_str().into());
            channel.queue_bind(q, x, key.into(), QueueBindOptions::default(), FieldTable::default()).await?;
        }
        channel.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
        let consumer = channel
            .basic_consume(queue.as_str().into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
            .await?;
        Ok((conn, channel, consumer))
    }

    fn handle_delivery(&mut self, delivery: Delivery, ctx: &mut Context<Self>) {
        let span = tracing::info_span!("change", otel.kind = "consumer", messaging.destination = %delivery.routing_key);
        continue_trace(&span, delivery.properties.headers().as_ref());
        let change = Change::decode(delivery.routing_key.as_str(), &delivery.data);
        let hub = self.hub.clone();
        let work = async move {
            match change {
                Ok(change) => {
                    tracing::debug!(env = %change.env_id(), "change received");
                    deliver_and_wait(&hub, change).await;
                }
                // A message we cannot read will never become readable: ack it so it does not loop.
                Err(e) => tracing::warn!(error = %e, "undecodable change dropped"),
            }
            if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                tracing::debug!(error = %e, "ack failed (redelivered after recovery)");
            }
        };
        ctx.spawn(tracing::Instrument::instrument(work, span).into_actor(self));
    }
}

impl Actor for ChangeListener {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let fut = Self::subscribe(self.config.clone(), self.queue.clone());
        ctx.wait(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((conn, channel, consumer)) => {
                ctx.add_stream(conn.events_listener());
                ctx.add_stream(consumer);
                act.conn = Some(conn);
                act.channel = Some(channel);
                act.healthy.store(true, Ordering::Relaxed);
                tracing::info!(queue = %act.queue, "listening for changes");
                // Anything published while we were not subscribed is only in the database.
                act.hub.do_send(Resync);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to changes; retrying");
                ctx.run_later(RESTART_BACKOFF, |_, ctx| ctx.stop());
            }
        }));
    }
}

impl Supervised for ChangeListener {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.healthy.store(false, Ordering::Relaxed);
        self.conn = None;
        self.channel = None;
    }
}

impl StreamHandler<lapin::Result<Delivery>> for ChangeListener {
    fn handle(&mut self, item: lapin::Result<Delivery>, ctx: &mut Self::Context) {
        match item {
            Ok(delivery) => self.handle_delivery(delivery, ctx),
            Err(e) => {
                tracing::warn!(error = %e, "change consumer error; waiting for recovery");
                self.healthy.store(false, Ordering::Relaxed);
                if let Some(channel) = self.channel.clone() {
                    ctx.spawn(async move { channel.wait_for_recovery(e).await }.into_actor(self).map(|res, _, ctx| {
                        if res.is_err() {
                            ctx.stop();
                        }
                    }));
                }
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        tracing::error!("change consumer ended; reconnecting");
        ctx.run_later(RESTART_BACKOFF, |_, ctx| ctx.stop());
    }
}

impl StreamHandler<Event> for ChangeListener {
    fn handle(&mut self, event: Event, _: &mut Self::Context) {
        match event {
            Event::Connected => {
                tracing::info!("broker connection recovered; catching up from the database");
                self.healthy.store(true, Ordering::Relaxed);
                self.hub.do_send(Resync);
            }
            Event::Error(e) => {
                tracing::warn!(error = %e, "broker connection error");
                self.healthy.store(false, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    // The events stream ends with the connection; the consumer stream decides about restarts.
    fn finished(&mut self, _: &mut Self::Context) {}
}
