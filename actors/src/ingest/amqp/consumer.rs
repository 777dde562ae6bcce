//! `QueueConsumer<T>`: one per ingestion queue and node, feeding the node's writers. Every node consumes the same
//! durable queues, so RabbitMQ spreads deliveries over the nodes (competing consumers).
//!
//! A delivery is acked only after the writer reports its rows committed. A **full** writer (database down or
//! slow) does not get the delivery nacked back at once — that would be a tight redelivery loop while the database
//! is down — the consumer keeps it and appends it again after a backoff (100 ms doubling to 5 s); the deliveries it
//! holds fill the prefetch window, so the broker stops sending until the writers drain: consumption pauses by
//! itself. A writer that is shutting down gets the delivery nacked back to the queue for another node.
//!
//! A message that cannot be decoded will never become readable by this node: it is moved to its dead-letter queue
//! ([`dead_letter`](super::dead_letter)) and acked once the copy is confirmed.
//!
//! A cut connection is recovered by lapin (queue, qos and consumer replayed); acks of the old channel are void and
//! RabbitMQ redelivers those messages, which storage absorbs (insight uuids are primary keys, users are upserted).

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::prelude::*;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer, Event};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use uuid::Uuid;
use vane_schema::wire::message::{END_USERS_QUEUE, EndUserMessage, INSIGHTS_QUEUE, InsightMessage};

use super::{AmqpError, AmqpIngestConfig, connect, dead_letter, declare_queue, decode};
use crate::ingest::writers::{Stored, Writers, stored};
use crate::propagation::continue_trace;
use crate::writer::WriterError;

/// Wait before reconnecting after a subscription failed or the connection was lost for good.
const RESTART_BACKOFF: Duration = Duration::from_secs(1);
/// First wait before appending a delivery a full writer refused; doubles per refusal.
const FULL_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait between appends of a refused delivery.
const FULL_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A queue and where its messages go.
pub trait Topic: Unpin + 'static {
    /// What one message holds.
    type Message: DeserializeOwned + Send + 'static;
    /// The durable queue.
    const QUEUE: &'static str;
    /// Appends messages to their writer.
    fn append(writers: &Writers, messages: Vec<Self::Message>) -> Stored;
}

/// `featbit-insights` → `events`.
#[derive(Debug)]
pub struct Insights;

/// `featbit-endusers` → `end_users`.
#[derive(Debug)]
pub struct EndUsers;

impl Topic for Insights {
    type Message = InsightMessage;
    const QUEUE: &'static str = INSIGHTS_QUEUE;
    fn append(writers: &Writers, messages: Vec<InsightMessage>) -> Stored {
        writers.insights(messages)
    }
}

impl Topic for EndUsers {
    type Message = EndUserMessage;
    const QUEUE: &'static str = END_USERS_QUEUE;
    fn append(writers: &Writers, messages: Vec<EndUserMessage>) -> Stored {
        writers.end_users(messages)
    }
}

/// Stop taking deliveries (SIGTERM); resolves once the broker confirmed the cancel (or it could not be sent).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct StopConsuming;

/// Resolves once every delivery taken so far is acked or nacked, then closes the connection.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Drain;

/// Consumes one queue into the writers.
pub struct QueueConsumer<T: Topic> {
    /// Broker address.
    config: AmqpIngestConfig,
    /// The node's writers (shared with the in-process path and the other consumer).
    writers: Writers,
    /// Unacked deliveries the broker may push: sized to the writers' batch.
    prefetch: u16,
    /// Client-chosen consumer tag, stable across recoveries.
    tag: String,
    /// The open connection (kept so it is not dropped).
    conn: Option<Connection>,
    /// The consuming channel.
    channel: Option<Channel>,
    /// Confirm-mode channel for dead letters (same connection).
    dead_letters: Option<Channel>,
    /// Deliveries taken and not yet settled (acked, nacked or dead-lettered).
    in_flight: usize,
    /// [`StopConsuming`] received: the stream ending is expected, do not reconnect.
    stopped: bool,
    /// [`Drain`] callers waiting for `in_flight` to reach zero.
    drain_waiters: Vec<oneshot::Sender<()>>,
    /// Whether the broker connection is up; read by [`Ingest::status`](crate::ingest::Ingest::status).
    connected: Arc<AtomicBool>,
    /// The topic is a type parameter only.
    topic: PhantomData<T>,
}

impl<T: Topic> QueueConsumer<T> {
    /// Starts the consumer on `arbiter` under a supervisor; it connects in the background and retries until it
    /// can. Its connection binds to that arbiter's runtime, which must live as long as the node.
    pub fn start(
        arbiter: &ArbiterHandle,
        config: AmqpIngestConfig,
        writers: Writers,
        prefetch: u16,
        connected: Arc<AtomicBool>,
    ) -> Addr<Self> {
        let tag = format!("vane-{}-{}", T::QUEUE, Uuid::new_v4().simple());
        Supervisor::start_in_arbiter(arbiter, move |_| Self {
            config,
            writers,
            prefetch: prefetch.max(1),
            tag,
            conn: None,
            channel: None,
            dead_letters: None,
            in_flight: 0,
            stopped: false,
            drain_waiters: Vec::new(),
            connected,
            topic: PhantomData,
        })
    }

    async fn subscribe(config: AmqpIngestConfig, tag: String, prefetch: u16) -> Result<Subscription, AmqpError> {
        let conn = connect(&config, &format!("vane-ingest-consumer-{}", T::QUEUE)).await?;
        let channel = conn.create_channel().await?;
        declare_queue(&channel, T::QUEUE).await?;
        let dead_letters = conn.create_channel().await?;
        dead_letter::declare(&dead_letters, T::QUEUE).await?;
        channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
        let options = BasicConsumeOptions::default();
        let consumer =
            channel.basic_consume(T::QUEUE.into(), tag.as_str().into(), options, FieldTable::default()).await?;
        Ok(Subscription { conn, channel, dead_letters, consumer })
    }

    fn subscribed(&mut self, result: Result<Subscription, AmqpError>, ctx: &mut Context<Self>) {
        match result {
            Ok(Subscription { conn, channel, dead_letters, consumer }) => {
                ctx.add_stream(conn.events_listener());
                ctx.add_stream(consumer);
                self.conn = Some(conn);
                self.channel = Some(channel);
                self.dead_letters = Some(dead_letters);
                self.connected.store(true, Ordering::Relaxed);
                tracing::info!(queue = T::QUEUE, prefetch = self.prefetch, "consuming");
            }
            Err(e) => {
                tracing::warn!(queue = T::QUEUE, error = %e, "cannot consume; retrying");
                ctx.run_later(RESTART_BACKOFF, |_, ctx| ctx.stop());
            }
        }
    }

    /// Takes a delivery: appends its messages, or dead-letters it if it cannot be decoded.
    fn take(&mut self, delivery: Delivery, ctx: &mut Context<Self>) {
        self.in_flight += 1;
        // The publishing track call's trace: the writer's flush links to it.
        let span = tracing::info_span!("ingest.receive", otel.kind = "consumer", messaging.destination = T::QUEUE);
        continue_trace(&span, delivery.properties.headers().as_ref());
        let _entered = span.enter();
        match decode::<T::Message>(&delivery.data) {
            Ok(messages) => self.append(delivery, messages, 0, ctx),
            Err(e) => self.dead_letter(delivery, &e.to_string(), ctx),
        }
    }

    /// Hands the messages to the writers and settles the delivery once they report; a full writer gets them
    /// again after a backoff (the delivery stays unacked meanwhile).
    fn append(&mut self, delivery: Delivery, messages: Vec<T::Message>, refusals: u32, ctx: &mut Context<Self>) {
        let rows = T::append(&self.writers, messages);
        ctx.spawn(async move { stored(rows).await }.into_actor(self).map(move |outcome, act, ctx| {
            match next_step(&outcome, act.stopped, refusals) {
                Next::RetryAfter(delay) => {
                    tracing::debug!(queue = T::QUEUE, ?delay, "writers full; delivery held and appended again later");
                    ctx.run_later(delay, move |act, ctx| match decode::<T::Message>(&delivery.data) {
                        Ok(messages) => act.append(delivery, messages, refusals + 1, ctx),
                        Err(e) => act.dead_letter(delivery, &e.to_string(), ctx),
                    });
                }
                Next::Settle => act.settle(settle(delivery, outcome), ctx),
            }
        }));
    }

    /// Moves an undecodable delivery to the dead-letter queue, then acks it; requeues it if that fails.
    fn dead_letter(&mut self, delivery: Delivery, error: &str, ctx: &mut Context<Self>) {
        tracing::error!(queue = T::QUEUE, error, "undecodable message moved to the dead-letter queue");
        let channel = self.dead_letters.clone();
        let error = error.to_owned();
        let moved = async move {
            let sent = match &channel {
                Some(channel) => dead_letter::send(channel, T::QUEUE, &delivery.data, &error).await,
                None => Err(AmqpError::Rejected),
            };
            match sent {
                Ok(()) => settled(delivery.ack(BasicAckOptions::default()).await),
                Err(e) => {
                    tracing::warn!(queue = T::QUEUE, error = %e, "dead letter not confirmed; message requeued");
                    settled(delivery.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await);
                }
            }
        };
        self.settle(moved, ctx);
    }

    /// Runs a settling future, then counts the delivery as settled.
    fn settle(&mut self, settling: impl Future<Output = ()> + 'static, ctx: &mut Context<Self>) {
        ctx.spawn(settling.into_actor(self).map(|(), act, _| {
            act.in_flight -= 1;
            act.wake_drainers();
        }));
    }

    fn wake_drainers(&mut self) {
        if self.in_flight == 0 {
            for waiter in self.drain_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }
}

/// What to do with a delivery once the writers answered.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Ack it (stored) or requeue it (the writers will not take it: shutting down, stopped).
    Settle,
    /// Keep it unacked and append it again after this delay (the writers are full).
    RetryAfter(Duration),
}

/// A full writer is waited for with a backoff of `100 ms × 2^refusals` up to 5 s — never an immediate requeue,
/// which would make the broker redeliver in a tight loop while the database is down. Once consuming stopped
/// (shutdown), a refused delivery goes back to the queue for another node.
fn next_step(outcome: &Result<(), WriterError>, stopped: bool, refusals: u32) -> Next {
    match outcome {
        Err(WriterError::Overloaded { .. }) if !stopped => {
            Next::RetryAfter(FULL_BACKOFF_MIN.saturating_mul(1 << refusals.min(6)).min(FULL_BACKOFF_MAX))
        }
        _ => Next::Settle,
    }
}

/// What a successful subscription opened.
struct Subscription {
    /// The connection.
    conn: Connection,
    /// The consuming channel.
    channel: Channel,
    /// Confirm-mode channel for dead letters.
    dead_letters: Channel,
    /// The delivery stream.
    consumer: Consumer,
}

/// Acks a stored delivery, nacks (requeue) one the writers will not take (shutting down, stopped).
async fn settle(delivery: Delivery, outcome: Result<(), WriterError>) {
    match outcome {
        Ok(()) => settled(delivery.ack(BasicAckOptions::default()).await),
        Err(e) => {
            tracing::debug!(error = %e, "writer refused a delivery; requeued");
            settled(delivery.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await);
        }
    }
}

/// An ack on a channel that was lost since is void; the broker redelivers the message.
fn settled(result: lapin::Result<bool>) {
    match result {
        Ok(true) => {}
        Ok(false) => tracing::debug!("delivery from a lost channel not settled; the broker redelivers it"),
        Err(e) => tracing::debug!(error = %e, "settling failed; the broker redelivers the message"),
    }
}

// === impl Actor ===

impl<T: Topic> Actor for QueueConsumer<T> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let subscribe = Self::subscribe(self.config.clone(), self.tag.clone(), self.prefetch);
        ctx.wait(subscribe.into_actor(self).map(|result, act, ctx| act.subscribed(result, ctx)));
    }
}

impl<T: Topic> Supervised for QueueConsumer<T> {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.connected.store(false, Ordering::Relaxed);
        self.conn = None;
        self.channel = None;
        self.dead_letters = None;
    }
}

impl<T: Topic> StreamHandler<lapin::Result<Delivery>> for QueueConsumer<T> {
    fn handle(&mut self, item: lapin::Result<Delivery>, ctx: &mut Self::Context) {
        match item {
            Ok(delivery) => self.take(delivery, ctx),
            Err(e) => {
                tracing::warn!(queue = T::QUEUE, error = %e, "consumer error; waiting for recovery");
                let Some(channel) = self.channel.clone() else { return };
                let recover = async move { channel.wait_for_recovery(e).await };
                ctx.spawn(recover.into_actor(self).map(|result, act, ctx| {
                    if result.is_err() && !act.stopped {
                        ctx.stop();
                    }
                }));
            }
        }
    }

    // The default would stop the actor for good; a consumer that ends unexpectedly reconnects instead.
    fn finished(&mut self, ctx: &mut Self::Context) {
        if !self.stopped {
            tracing::error!(queue = T::QUEUE, "consumer ended; reconnecting");
            ctx.run_later(RESTART_BACKOFF, |_, ctx| ctx.stop());
        }
    }
}

impl<T: Topic> StreamHandler<Event> for QueueConsumer<T> {
    fn handle(&mut self, event: Event, _: &mut Self::Context) {
        match event {
            Event::Connected => self.connected.store(true, Ordering::Relaxed),
            Event::Error(e) => {
                tracing::warn!(queue = T::QUEUE, error = %e, "broker connection error");
                self.connected.store(false, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    // The events stream ends with the connection; the delivery stream decides about reconnects.
    fn finished(&mut self, _: &mut Self::Context) {}
}

impl<T: Topic> Handler<StopConsuming> for QueueConsumer<T> {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopConsuming, _: &mut Self::Context) -> Self::Result {
        self.stopped = true;
        let (channel, tag) = (self.channel.clone(), self.tag.clone());
        Box::pin(async move {
            let Some(channel) = channel else { return };
            if let Err(e) = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await {
                tracing::debug!(queue = T::QUEUE, error = %e, "cancel failed; unacked deliveries return on close");
            }
        })
    }
}

impl<T: Topic> Handler<Drain> for QueueConsumer<T> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Drain, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(tx);
        self.wake_drainers();
        Box::pin(
            async move {
                let _ = rx.await;
            }
            .into_actor(self)
            .then(|(), act, _| {
                let conn = act.conn.take();
                async move {
                    if let Some(conn) = conn {
                        let _ = conn.close(200, "shutdown".into()).await;
                    }
                }
                .into_actor(act)
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_writer_is_waited_for_with_backoff_and_never_requeued_at_once() {
        let full = Err(WriterError::Overloaded { table: "events", buffered: 10 });
        let delays: Vec<_> = (0..9).map(|n| next_step(&full, false, n)).collect();
        assert_eq!(delays[0], Next::RetryAfter(Duration::from_millis(100)));
        assert_eq!(delays[3], Next::RetryAfter(Duration::from_millis(800)));
        assert_eq!(delays[8], Next::RetryAfter(FULL_BACKOFF_MAX));
        assert_eq!(next_step(&full, true, 0), Next::Settle, "stopping: back to the queue for another node");
        assert_eq!(next_step(&Err(WriterError::Closing("events")), false, 0), Next::Settle);
        assert_eq!(next_step(&Ok(()), false, 0), Next::Settle);
    }
}
