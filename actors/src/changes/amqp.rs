//! RabbitMQ plumbing for changes: connecting with lapin's automatic recovery, the durable topic exchange, and the
//! publisher (with confirms), whose messages carry the caller's trace context ([`crate::propagation`]).

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use vane_schema::wire::change::Change;

use super::BusError;

/// How long a publish waits for the broker's confirm (including one reconnect).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to reach the broker.
#[derive(Debug, Clone)]
pub struct AmqpConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    /// The topic exchange carrying changes.
    pub exchange: String,
    /// Bound on the initial connect (lapin retries forever with recovery on).
    pub connect_timeout: Duration,
}

/// Connects with automatic recovery (channels, queues, bindings and consumers are replayed after a reconnect).
pub async fn connect(config: &AmqpConfig, name: &str) -> Result<Connection, BusError> {
    let props = ConnectionProperties::default().enable_auto_recover().with_connection_name(name.into());
    match tokio::time::timeout(config.connect_timeout, Connection::connect(&config.url, props)).await {
        Ok(conn) => Ok(conn?),
        Err(_) => Err(BusError::Timeout),
    }
}

/// Declares the change exchange (durable topic; idempotent).
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), BusError> {
    let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    channel.exchange_declare(exchange.into(), ExchangeKind::Topic, options, FieldTable::default()).await?;
    Ok(())
}

/// Publishes changes on a confirm-mode channel.
#[derive(Clone)]
pub struct ChangePublisher {
    /// The publisher's own connection (kept open for the channel).
    _conn: std::sync::Arc<Connection>,
    /// Confirm-mode channel (recovered with its connection).
    channel: Channel,
    /// Exchange name.
    exchange: String,
}

impl ChangePublisher {
    /// Connects, opens a confirm-mode channel and declares the exchange.
    pub async fn connect(config: &AmqpConfig) -> Result<Self, BusError> {
        let conn = connect(config, "vane-change-publisher").await?;
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        declare_exchange(&channel, &config.exchange).await?;
        Ok(Self { _conn: std::sync::Arc::new(conn), channel, exchange: config.exchange.clone() })
    }

    /// Publishes one change and waits for the broker's confirm; rides out one connection recovery.
    pub async fn publish(&self, change: &Change) -> Result<(), BusError> {
        tokio::time::timeout(CONFIRM_TIMEOUT, self.publish_with_retry(change)).await.map_err(|_| BusError::Timeout)?
    }

    async fn publish_with_retry(&self, change: &Change) -> Result<(), BusError> {
        let body = change.to_json();
        match self.publish_once(change.routing_key(), &body).await {
            Err(BusError::Amqp(e)) => {
                self.channel.wait_for_recovery(e).await?;
                self.publish_once(change.routing_key(), &body).await
            }
            other => other,
        }
    }

    async fn publish_once(&self, routing_key: &str, body: &[u8]) -> Result<(), BusError> {
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_headers(crate::propagation::inject_current());
        let confirm = self
            .channel
            .basic_publish(
                self.exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                props,
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(BusError::Nacked),
        }
    }
}
