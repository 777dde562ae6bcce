//! Ingestion of what SDKs report — flows 3 (end users) and 4 (insights) — behind one handle, [`Ingest`].
//!
//! A track body (featbit-protocol.md §3.3) becomes end-user and insight messages (§6.3, built in [`build`]):
//! items without a user key are skipped, a user is published at most once per 3 minutes per node ([`dedupe`]),
//! every evaluation with a variation and every metric becomes one insight with a fresh uuid. Client data-syncs
//! publish their user when the session sees it first or changed (the session dedupes, [`Ingest::user_seen`]).
//!
//! Where the messages go is the [`transport`]'s business: in process, straight into the node's
//! [`BatchWriter`](crate::writer::BatchWriter)s; in a cluster, through RabbitMQ ([`amqp`]) to the writers of
//! every node. [`Ingest::track`] returns only once the messages are durable (committed, or confirmed by the
//! broker), so the HTTP route answers 200 only for data that will not be lost, and 503 on [`IngestError`].

pub mod amqp;
pub mod build;
mod config;
pub mod dedupe;
mod limits;
pub mod report;
pub mod rows;
mod sightings;
pub mod track_body;
mod transport;
pub mod writers;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;
use vane_schema::wire::message::{EndUserMessage, InsightMessage};
use vane_schema::wire::time::{now_ms, unix_ms};
use vane_schema::wire::{EndUser, Insight};

pub use self::amqp::AmqpIngestConfig;
pub use self::config::IngestConfig;
use self::dedupe::UserDedupe;
/// For the fuzz targets' budget check (`fuzz/src/lib.rs`): the estimate the track parser adds up.
#[doc(hidden)]
pub use self::limits::expanded_bytes;
pub use self::limits::{LimitError, Limits};
use self::transport::Transport;
use self::writers::Writers;
use crate::metrics::{attr, label, metrics};
use crate::store::Store;
use crate::writer::WriterError;

/// Why reported data could not be accepted; every variant means "not stored, ask the SDK to retry" (503).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Writers are full (database down or slower than the intake).
    #[error("ingestion is overloaded")]
    Overloaded(#[source] WriterError),
    /// The pipeline is shutting down or stopped.
    #[error("ingestion is unavailable")]
    Unavailable(#[source] WriterError),
    /// The broker cannot be reached, or refused the messages.
    #[error("message broker unavailable")]
    Broker(#[source] amqp::AmqpError),
    /// The data did not become durable in time (it may still be stored later).
    #[error("ingestion did not confirm within {0:?}")]
    Timeout(Duration),
}

impl From<WriterError> for IngestError {
    fn from(e: WriterError) -> Self {
        match e {
            WriterError::Overloaded { .. } => Self::Overloaded(e),
            WriterError::Closing(_) | WriterError::Stopped => Self::Unavailable(e),
        }
    }
}

/// Counts what a track call stored.
fn record_accepted(outcome: &TrackOutcome) {
    let accepted = &metrics().ingest_accepted;
    accepted.add(outcome.insights as u64, &label(attr::KIND, "event"));
    accepted.add(outcome.end_users as u64, &label(attr::KIND, "user"));
}

/// What a track call published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackOutcome {
    /// Items with a usable user.
    pub items: usize,
    /// End-user messages (users not seen within the dedupe window).
    pub end_users: usize,
    /// Insight messages (evaluations with a variation, plus metrics).
    pub insights: usize,
}

/// The messages of one track call.
#[derive(Debug, Default)]
pub struct Messages {
    /// New users.
    pub end_users: Vec<EndUserMessage>,
    /// Evaluations and metrics.
    pub insights: Vec<InsightMessage>,
}

/// The ingestion pipeline of a node: cheap to clone, shared by routes and sessions.
#[derive(Clone)]
pub struct Ingest {
    /// Shared state.
    inner: Arc<Inner>,
}

/// What every clone of [`Ingest`] shares.
struct Inner {
    /// Users published recently (std mutex: held briefly, never across an await).
    dedupe: Mutex<UserDedupe>,
    /// Where messages go.
    transport: Transport,
    /// Longest a track call waits for durability.
    track_timeout: Duration,
}

/// Health of the pipeline, for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestStatus {
    /// The database accepted the last batch (false while writers retry against an unreachable database).
    pub database_ok: bool,
    /// Broker connections are up; `None` in embedded mode.
    pub broker_connected: Option<bool>,
}

impl Ingest {
    /// Embedded mode: messages go straight into this node's writers (started here, on an arbiter of their own).
    /// Needs a running actix `System`.
    pub fn in_process(store: Store, config: IngestConfig) -> Self {
        let writers = Writers::start_with(store, config.writer(), config.event_writers);
        Self::with_transport(Transport::InProcess(writers), &config)
    }

    /// Cluster mode: publishes to RabbitMQ and consumes the ingestion queues into this node's writers (started
    /// here, with the consumers, on arbiters of their own). Fails if the broker cannot be reached within
    /// `amqp.connect_timeout`. Call it on the System arbiter (startup), not in an HTTP worker.
    pub async fn amqp(store: Store, config: IngestConfig, amqp: AmqpIngestConfig) -> Result<Self, IngestError> {
        let writers = Writers::start_with(store, config.writer(), config.event_writers);
        let transport = transport::Amqp::start(amqp, writers, config.prefetch).await?;
        Ok(Self::with_transport(Transport::Amqp(Box::new(transport)), &config))
    }

    fn with_transport(transport: Transport, config: &IngestConfig) -> Self {
        let track_timeout = config.track_timeout();
        Self { inner: Arc::new(Inner { dedupe: Mutex::default(), transport, track_timeout }) }
    }

    /// Publishes a track body of `env_id` and returns once it is durable. On error nothing is acknowledged and
    /// the users it would have published count as unseen again, so the SDK's retry republishes them.
    pub async fn track(&self, env_id: Uuid, items: Vec<Insight>) -> Result<TrackOutcome, IngestError> {
        let (messages, outcome) = self.prepare(env_id, &items);
        if messages.end_users.is_empty() && messages.insights.is_empty() {
            return Ok(outcome);
        }
        let users: Vec<String> = messages.end_users.iter().map(|m| m.key_id.clone()).collect();
        let timeout = self.inner.track_timeout;
        let result = match tokio::time::timeout(timeout, self.inner.transport.publish(messages)).await {
            Ok(result) => result,
            Err(_) => Err(IngestError::Timeout(timeout)),
        };
        if result.is_err() {
            self.forget(env_id, &users);
        } else {
            record_accepted(&outcome);
        }
        result.map(|()| outcome)
    }

    /// A client SDK attached `user` (client data-sync; the session already dropped repeats): published without
    /// waiting, through a bounded queue in cluster mode. Users without a key are ignored.
    pub fn user_seen(&self, env_id: Uuid, user: &EndUser) {
        if !user.is_valid() {
            return;
        }
        let message = build::end_user_message(env_id, user, unix_ms(&now_ms()));
        metrics().sightings.add(1, &[]);
        self.inner.transport.user_seen(message);
    }

    /// Stops consuming, stores and acknowledges everything buffered, closes broker connections; returns when
    /// done (bound it with a timeout). Call it after the HTTP server stopped taking requests.
    pub async fn shutdown(&self) {
        self.inner.transport.shutdown().await;
    }

    /// Whether the database and the broker are reachable, for readiness.
    pub fn status(&self) -> IngestStatus {
        IngestStatus {
            database_ok: self.inner.transport.writers().database_ok(),
            broker_connected: self.inner.transport.broker_connected(),
        }
    }

    /// Builds the messages of a track body, then marks its new users as seen. The dedupe lock is taken only for the
    /// lookups, never while messages are built (other track calls and client syncs wait on it).
    fn prepare(&self, env_id: Uuid, items: &[Insight]) -> (Messages, TrackOutcome) {
        let mut messages = Messages::default();
        let mut users = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let Some(user) = item.user.as_ref().filter(|u| u.is_valid()) else { continue };
            users.push(user);
            // The one place where track items become insight messages.
            messages.insights.extend(build::insight_messages(env_id, user, item, index));
        }
        let (now, seen_ms) = (Instant::now(), unix_ms(&now_ms()));
        let mut dedupe = self.inner.dedupe.lock().unwrap_or_else(PoisonError::into_inner);
        users.retain(|user| dedupe.first_seen(env_id, &user.key_id, now));
        drop(dedupe);
        messages.end_users = users.into_iter().map(|user| build::end_user_message(env_id, user, seen_ms)).collect();
        let outcome = TrackOutcome {
            items: items.iter().filter(|i| i.user.as_ref().is_some_and(EndUser::is_valid)).count(),
            end_users: messages.end_users.len(),
            insights: messages.insights.len(),
        };
        (messages, outcome)
    }

    /// Marks users as unseen again (their publication failed).
    fn forget(&self, env_id: Uuid, key_ids: &[String]) {
        let mut dedupe = self.inner.dedupe.lock().unwrap_or_else(PoisonError::into_inner);
        for key_id in key_ids {
            dedupe.forget(env_id, key_id);
        }
    }
}
