//! The RabbitMQ transport of ingestion: the intake publishes to the durable queues `featbit-endusers` and
//! `featbit-insights`, and every node's writers consume them as competing consumers.
//!
//! * [`publisher::Publisher`] — persistent messages on a confirm-mode channel; a track call is durable once the
//!   broker confirmed every message it published (the confirms of concurrent calls arrive in batches).
//! * [`consumer::QueueConsumer`] — one actor per queue, prefetch sized to the writer's batch, appends what it
//!   receives to the writers and acks each delivery only after its rows are committed (at-least-once; storage is
//!   idempotent).
//!
//! One AMQP message carries the messages of one track call as a JSON array of §6.3 messages (a single object, as
//! a FeatBit producer would publish, is accepted too): packing keeps the broker at a few thousand messages per
//! second at tens of thousands of events per second.
//!
//! Connections use lapin's automatic recovery, so queues must be client-named (they are: fixed names) and the
//! initial connect is bounded by a timeout (with recovery on, lapin would retry a dead broker forever).

pub mod consumer;
pub mod dead_letter;
pub mod publisher;

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Where the broker is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct AmqpIngestConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    /// Bound on the initial connect.
    pub connect_timeout: Duration,
}

/// Broker failures.
#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    /// The broker refused or dropped the connection or channel.
    #[error("broker error")]
    Broker(#[from] lapin::Error),
    /// The initial connect did not complete in time.
    #[error("broker did not answer within {0:?}")]
    ConnectTimeout(Duration),
    /// The broker negatively confirmed a message, or returned it as unroutable.
    #[error("broker did not accept the message")]
    Rejected,
}

/// Connects with automatic recovery, naming the connection so operators (and tests) can find it.
pub async fn connect(config: &AmqpIngestConfig, name: &str) -> Result<Connection, AmqpError> {
    let props = ConnectionProperties::default().enable_auto_recover().with_connection_name(name.into());
    match tokio::time::timeout(config.connect_timeout, Connection::connect(&config.url, props)).await {
        Ok(conn) => Ok(conn?),
        Err(_) => Err(AmqpError::ConnectTimeout(config.connect_timeout)),
    }
}

/// Declares `queue` durable (idempotent; both publishers and consumers declare it, whoever comes first).
pub async fn declare_queue(channel: &Channel, queue: &str) -> Result<(), AmqpError> {
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.queue_declare(queue.into(), options, FieldTable::default()).await?;
    Ok(())
}

/// The JSON body of a batch of messages.
pub fn encode<T: serde::Serialize>(messages: &[T]) -> Vec<u8> {
    // Serializing plain structs into memory cannot fail.
    serde_json::to_vec(messages).unwrap_or_default()
}

/// A body holding one message or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    /// `[…]`, as Vane publishes.
    Many(Vec<T>),
    /// `{…}`, as a FeatBit producer publishes.
    One(T),
}

/// Reads a body written by [`encode`], or a single message.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    Ok(match serde_json::from_slice(body)? {
        OneOrMany::Many(messages) => messages,
        OneOrMany::One(message) => vec![message],
    })
}

#[cfg(test)]
mod tests {
    use vane_schema::wire::EndUser;
    use vane_schema::wire::message::EndUserMessage;

    use super::*;
    use crate::ingest::build::end_user_message;

    #[test]
    fn bodies_round_trip_and_single_featbit_messages_are_accepted() {
        let users = vec![end_user_message(uuid::Uuid::new_v4(), &EndUser::with_key("a"), 1); 3];
        assert_eq!(decode::<EndUserMessage>(&encode(&users)).expect("decodes"), users);
        let single = serde_json::to_vec(&users[0]).expect("encodes");
        assert_eq!(decode::<EndUserMessage>(&single).expect("decodes"), users[..1]);
        assert!(decode::<EndUserMessage>(b"{\"nope\":1}").is_err());
    }
}
