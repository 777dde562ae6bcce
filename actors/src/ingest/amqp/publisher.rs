//! Publishing track calls to RabbitMQ: persistent messages to the durable ingestion queues through a
//! confirm-mode channel, mandatory so an unroutable message is reported instead of silently dropped.
//!
//! One channel is shared by every HTTP worker (lapin channels are `Send + Sync` and pipeline publishes). Each
//! call publishes all its messages first and then awaits their confirms together; the broker confirms many
//! deliveries with one `multiple` ack, so concurrent calls share confirm round trips. Messages carry the track
//! call's trace context ([`crate::propagation`]).

use std::sync::Arc;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection, PublisherConfirm};
use vane_schema::wire::message::{END_USERS_QUEUE, INSIGHTS_QUEUE};

use super::{AmqpError, AmqpIngestConfig, connect, declare_queue};

/// AMQP delivery mode 2: the broker writes the message to disk before confirming it (durable queue).
const PERSISTENT: u8 = 2;

/// The node's ingestion publisher.
#[derive(Clone)]
pub struct Publisher {
    /// The publisher's own connection, shared by clones and closed on shutdown.
    conn: Arc<Connection>,
    /// Confirm-mode channel (recovered with its connection).
    channel: Channel,
}

impl Publisher {
    /// Connects, enables confirms and declares both queues. Create it on the System arbiter (startup), not in an
    /// HTTP worker: lapin binds its I/O to the runtime it was created on.
    pub async fn connect(config: &AmqpIngestConfig) -> Result<Self, AmqpError> {
        let conn = connect(config, "vane-ingest-publisher").await?;
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        for queue in [END_USERS_QUEUE, INSIGHTS_QUEUE] {
            declare_queue(&channel, queue).await?;
        }
        Ok(Self { conn: Arc::new(conn), channel })
    }

    /// Publishes each `(queue, body)` and returns once the broker confirmed all of them. If the connection is
    /// being recovered, waits for the recovery and publishes once more (a message published twice is stored once:
    /// insight uuids are stable and users are upserted).
    pub async fn publish(&self, bodies: &[(&str, Vec<u8>)]) -> Result<(), AmqpError> {
        match self.publish_once(bodies).await {
            Err(AmqpError::Broker(error)) => {
                self.channel.wait_for_recovery(error).await?;
                self.publish_once(bodies).await
            }
            other => other,
        }
    }

    /// True while the connection is up (readiness).
    pub fn is_connected(&self) -> bool {
        self.conn.status().connected()
    }

    /// Closes the connection (after the last publish; pending confirms fail).
    pub async fn close(&self) {
        if let Err(e) = self.conn.close(200, "shutdown".into()).await {
            tracing::debug!(error = %e, "ingest publisher close");
        }
    }

    async fn publish_once(&self, bodies: &[(&str, Vec<u8>)]) -> Result<(), AmqpError> {
        let mut confirms = Vec::with_capacity(bodies.len());
        for (queue, body) in bodies {
            confirms.push(self.send(queue, body).await?);
        }
        for confirm in confirms {
            match confirm.await? {
                Confirmation::Ack(None) | Confirmation::NotRequested => {}
                Confirmation::Ack(Some(_)) | Confirmation::Nack(_) => return Err(AmqpError::Rejected),
            }
        }
        Ok(())
    }

    /// Hands one message to the channel (default exchange, routed by queue name).
    async fn send(&self, queue: &str, body: &[u8]) -> Result<PublisherConfirm, AmqpError> {
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(PERSISTENT)
            .with_headers(crate::propagation::inject_current());
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        Ok(self.channel.basic_publish("".into(), queue.into(), options, body, props).await?)
    }
}
