//! Dead letters: ingestion messages a consumer cannot decode (another producer's format, a rolling upgrade that
//! changed it) are moved — never dropped — to a durable queue of their own, and can be replayed into their
//! original queue once a node that reads them runs (`vane dead-letters replay`).
//!
//! Vane declares a durable direct exchange [`EXCHANGE`] and, per ingestion queue `q`, a durable queue
//! `q.dead-letter` bound to it with routing key `q`. The ingestion queues themselves keep no arguments (adding
//! `x-dead-letter-exchange` to an existing queue fails with `PRECONDITION_FAILED` on a running broker), so the
//! consumer publishes the dead letter itself, on a confirm-mode channel, and acks the original only once the
//! broker confirmed the copy: at worst a message is in both queues, never in none.

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, ExchangeKind};

use super::{AmqpError, AmqpIngestConfig, connect, declare_queue};
use crate::metrics::{attr, label, metrics};

/// The dead-letter exchange.
pub const EXCHANGE: &str = "vane.dead-letter";
/// Header naming why the message was dead-lettered.
pub const ERROR_HEADER: &str = "x-vane-error";
/// AMQP delivery mode 2: written to disk before it is confirmed.
const PERSISTENT: u8 = 2;

/// The dead-letter queue of ingestion queue `queue`.
pub fn queue_of(queue: &str) -> String {
    format!("{queue}.dead-letter")
}

/// Declares the exchange and `queue`'s dead-letter queue, and puts `channel` in confirm mode (idempotent).
pub async fn declare(channel: &Channel, queue: &str) -> Result<(), AmqpError> {
    let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    channel.exchange_declare(EXCHANGE.into(), ExchangeKind::Direct, durable, FieldTable::default()).await?;
    let dead = queue_of(queue);
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.queue_declare(dead.as_str().into(), options, FieldTable::default()).await?;
    let bind = QueueBindOptions::default();
    channel.queue_bind(dead.as_str().into(), EXCHANGE.into(), queue.into(), bind, FieldTable::default()).await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(())
}

/// Publishes `body` of `queue` to its dead-letter queue with `error` in a header; returns once confirmed.
pub async fn send(channel: &Channel, queue: &str, body: &[u8], error: &str) -> Result<(), AmqpError> {
    let mut headers = FieldTable::default();
    headers.insert(ShortString::from(ERROR_HEADER), AMQPValue::LongString(error.into()));
    let props = BasicProperties::default().with_delivery_mode(PERSISTENT).with_headers(headers);
    publish(channel, EXCHANGE, queue, body, props).await?;
    metrics().dead_lettered.add(1, &label(attr::REASON, "undecodable"));
    Ok(())
}

/// Moves every message of `queue`'s dead-letter queue back into `queue`, each acked only after its copy is
/// confirmed; returns how many moved. Messages that still cannot be decoded come back on their own.
pub async fn replay(config: &AmqpIngestConfig, queue: &str) -> Result<usize, AmqpError> {
    let conn = connect(config, "vane-dead-letter-replay").await?;
    let channel = conn.create_channel().await?;
    declare_queue(&channel, queue).await?;
    declare(&channel, queue).await?;
    let (dead, mut moved) = (queue_of(queue), 0);
    while let Some(message) = channel.basic_get(dead.as_str().into(), BasicGetOptions::default()).await? {
        let props =
            BasicProperties::default().with_content_type("application/json".into()).with_delivery_mode(PERSISTENT);
        publish(&channel, "", queue, &message.delivery.data, props).await?;
        message.delivery.ack(BasicAckOptions::default()).await?;
        moved += 1;
    }
    let _ = conn.close(200, "replayed".into()).await;
    Ok(moved)
}

/// One mandatory publish on a confirm-mode channel, awaited until the broker confirmed it.
async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    props: BasicProperties,
) -> Result<(), AmqpError> {
    let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
    let confirm = channel.basic_publish(exchange.into(), routing_key.into(), options, body, props).await?;
    match confirm.await? {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
        Confirmation::Ack(Some(_)) | Confirmation::Nack(_) => Err(AmqpError::Rejected),
    }
}
