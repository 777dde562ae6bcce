//! Where the messages of [`Ingest`](super::Ingest) go: straight into this node's writers (embedded mode), or
//! through RabbitMQ to the writers of whichever node consumes them (cluster mode). The handle is the same, so
//! routes and sessions do not know which one runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::{Addr, Arbiter};
use vane_schema::wire::message::{END_USERS_QUEUE, EndUserMessage, INSIGHTS_QUEUE};

use super::amqp::consumer::{self, Drain, QueueConsumer, StopConsuming};
use super::amqp::publisher::Publisher;
use super::amqp::{AmqpIngestConfig, encode};
use super::sightings::Sightings;
use super::writers::{Writers, stored};
use super::{IngestError, Messages};

/// The two transports.
pub enum Transport {
    /// Embedded mode: this node's writers.
    InProcess(Writers),
    /// Cluster mode: RabbitMQ, consumed by every node's writers.
    Amqp(Box<Amqp>),
}

/// The RabbitMQ side of a node: its publisher, and the consumers feeding its writers.
pub struct Amqp {
    /// Publishes track calls.
    publisher: Publisher,
    /// Publishes client sightings, batched through a bounded queue.
    sightings: Sightings,
    /// This node's writers (fed by the consumers).
    writers: Writers,
    /// Consumer of `featbit-insights`.
    insights: Addr<QueueConsumer<consumer::Insights>>,
    /// Consumer of `featbit-endusers`.
    end_users: Addr<QueueConsumer<consumer::EndUsers>>,
    /// Both consumers' connections are up.
    consuming: [Arc<AtomicBool>; 2],
}

impl Amqp {
    /// Connects the publisher (failing if the broker cannot be reached in time) and starts both consumers on an
    /// arbiter of their own.
    pub async fn start(config: AmqpIngestConfig, writers: Writers, prefetch: u16) -> Result<Self, IngestError> {
        let publisher = Publisher::connect(&config).await.map_err(IngestError::Broker)?;
        let arbiter = Arbiter::new().handle();
        let consuming = [Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false))];
        let (w, c) = (writers.clone(), config.clone());
        let insights = QueueConsumer::start(&arbiter, c, w, prefetch, consuming[0].clone());
        let end_users = QueueConsumer::start(&arbiter, config, writers.clone(), prefetch, consuming[1].clone());
        let sightings = Sightings::start(publisher.clone());
        Ok(Self { publisher, sightings, writers, insights, end_users, consuming })
    }
}

impl Transport {
    /// Hands a track call's messages over and waits until they are durable.
    pub async fn publish(&self, messages: Messages) -> Result<(), IngestError> {
        match self {
            Self::InProcess(writers) => {
                let users = writers.end_users(messages.end_users);
                let insights = writers.insights(messages.insights);
                let (users, insights) = futures_util::future::join(stored(users), stored(insights)).await;
                users.and(insights).map_err(IngestError::from)
            }
            Self::Amqp(amqp) => {
                let mut bodies = Vec::with_capacity(2);
                if !messages.end_users.is_empty() {
                    bodies.push((END_USERS_QUEUE, encode(&messages.end_users)));
                }
                if !messages.insights.is_empty() {
                    bodies.push((INSIGHTS_QUEUE, encode(&messages.insights)));
                }
                amqp.publisher.publish(&bodies).await.map_err(IngestError::Broker)
            }
        }
    }

    /// Hands over a client sighting without waiting; failures are logged (the next sync publishes it again).
    pub fn user_seen(&self, message: EndUserMessage) {
        match self {
            Self::InProcess(writers) => writers.end_users_detached(vec![message]),
            Self::Amqp(amqp) => amqp.sightings.offer(message),
        }
    }

    /// Graceful stop: no new deliveries, everything buffered stored and acked, connections closed.
    pub async fn shutdown(&self) {
        match self {
            Self::InProcess(writers) => writers.shutdown().await,
            Self::Amqp(amqp) => {
                let _ =
                    futures_util::future::join(amqp.insights.send(StopConsuming), amqp.end_users.send(StopConsuming))
                        .await;
                amqp.writers.shutdown().await;
                let _ = futures_util::future::join(amqp.insights.send(Drain), amqp.end_users.send(Drain)).await;
                amqp.publisher.close().await;
            }
        }
    }

    /// Whether the broker connections are up (`None` in embedded mode).
    pub fn broker_connected(&self) -> Option<bool> {
        match self {
            Self::InProcess(_) => None,
            Self::Amqp(amqp) => {
                Some(amqp.publisher.is_connected() && amqp.consuming.iter().all(|flag| flag.load(Ordering::Relaxed)))
            }
        }
    }

    /// The node's writers.
    pub fn writers(&self) -> &Writers {
        match self {
            Self::InProcess(writers) => writers,
            Self::Amqp(amqp) => &amqp.writers,
        }
    }
}
