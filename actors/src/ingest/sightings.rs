//! Client sightings in cluster mode: a bounded queue drained by one task that publishes them in batches, so a
//! flood of data-syncs costs at most [`QUEUE`] queued messages and one publish at a time, never a spawned task
//! per sighting. When the queue is full the sighting is dropped (counted in `vane.ingest.rejected`, reason
//! `sightings_full`): a sighting only refreshes a user's last-seen time, and the SDK's next sync reports it again.

use tokio::sync::mpsc;
use vane_schema::wire::message::{END_USERS_QUEUE, EndUserMessage};

use super::amqp::encode;
use super::amqp::publisher::Publisher;
use crate::metrics::{attr, metrics};

/// Sightings waiting to be published, at most.
const QUEUE: usize = 4096;
/// Sightings per published message.
const BATCH: usize = 256;

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct Sightings(mpsc::Sender<EndUserMessage>);

impl Sightings {
    /// Starts the publishing task on the current runtime (it ends when every sender is dropped).
    pub fn start(publisher: Publisher) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(publish_all(publisher, rx));
        Self(tx)
    }

    /// Queues a sighting without waiting; drops it when the queue is full.
    pub fn offer(&self, message: EndUserMessage) {
        if self.0.try_send(message).is_err() {
            let attrs = [
                opentelemetry::KeyValue::new(attr::KIND, "user"),
                opentelemetry::KeyValue::new(attr::REASON, "sightings_full"),
            ];
            metrics().ingest_rejected.add(1, &attrs);
        }
    }
}

async fn publish_all(publisher: Publisher, mut rx: mpsc::Receiver<EndUserMessage>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(e) = publisher.publish(&[(END_USERS_QUEUE, encode(&batch))]).await {
            tracing::warn!(error = %e, sightings = batch.len(), "client sightings not published");
        }
        batch.clear();
    }
}
