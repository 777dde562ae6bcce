//! Ingestion of what SDKs report — flows 3 (end users) and 4 (insights) — behind one handle, [`Ingest`].
//!
//! A track body (featbit-protocol.md §3.3) becomes end-user and insight messages (§6.3, built in [`build`]):
//! items without a user key are skipped, a user is published at most once per 3 minutes per node ([`dedupe`]),
//! every evaluation with a variation and every metric becomes one insight with a fresh uuid. Client data-syncs
//! publish their user every time ([`Ingest::user_seen`], §2.2).
//!
//! Where the messages go is the transport's business: in process, straight into the node's
//! [`BatchWriter`](crate::writer::BatchWriter)s. [`Ingest::track`] returns only once the messages are durable
//! (here: committed), so the HTTP route can answer 200 only for data that will not be lost, and 503 on
//! [`IngestError`].

pub mod build;
pub mod dedupe;
pub mod rows;
pub mod writers;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use uuid::Uuid;
use vane_schema::wire::message::{EndUserMessage, InsightMessage};
use vane_schema::wire::time::{now_ms, unix_ms};
use vane_schema::wire::{EndUser, Insight};

use self::dedupe::UserDedupe;
use self::writers::{Writers, stored};
use crate::store::Store;
use crate::writer::{WriterConfig, WriterError};

/// `[ingest]` settings: batching of the writers and how long a track call may wait.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Rows per statement; a writer flushes as soon as this many wait.
    pub batch_size: usize,
    /// Longest a row waits before a flush, in milliseconds.
    pub flush_ms: u64,
    /// Rows a writer may hold (database slow or down) before track calls are refused with 503.
    pub max_buffered_rows: usize,
    /// Longest a track call waits for its data to become durable before answering 503, in milliseconds.
    pub track_timeout_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        let writer = WriterConfig::default();
        Self {
            batch_size: writer.max_batch,
            flush_ms: writer.flush_every.as_millis() as u64,
            max_buffered_rows: writer.max_buffered,
            track_timeout_ms: 10_000,
        }
    }
}

impl IngestConfig {
    /// The writer settings these imply (retry backoff keeps its defaults).
    pub fn writer(&self) -> WriterConfig {
        WriterConfig {
            max_batch: self.batch_size.max(1),
            flush_every: Duration::from_millis(self.flush_ms.max(1)),
            max_buffered: self.max_buffered_rows.max(self.batch_size),
            ..WriterConfig::default()
        }
    }
}

/// Why reported data could not be accepted; every variant means "not stored, ask the SDK to retry" (503).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Writers are full (database down or slower than the intake).
    #[error("ingestion is overloaded")]
    Overloaded(#[source] WriterError),
    /// The pipeline is shutting down or stopped.
    #[error("ingestion is unavailable")]
    Unavailable(#[source] WriterError),
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

/// Where messages go.
enum Transport {
    /// Embedded mode: straight into this node's writers.
    InProcess(Writers),
}

impl Ingest {
    /// Embedded mode: messages go straight into this node's writers (started here, on an arbiter of their own).
    /// Needs a running actix `System`.
    pub fn in_process(store: Store, config: IngestConfig) -> Self {
        let writers = Writers::start(store, config.writer());
        Self::with_transport(Transport::InProcess(writers), &config)
    }

    fn with_transport(transport: Transport, config: &IngestConfig) -> Self {
        let track_timeout = Duration::from_millis(config.track_timeout_ms.max(1));
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
        let result = match tokio::time::timeout(timeout, self.publish(messages)).await {
            Ok(result) => result,
            Err(_) => Err(IngestError::Timeout(timeout)),
        };
        if result.is_err() {
            self.forget(env_id, &users);
        }
        result.map(|()| outcome)
    }

    /// A client SDK attached `user` (client data-sync): published every time, without dedupe and without
    /// waiting (§2.2). Users without a key are ignored.
    pub fn user_seen(&self, env_id: Uuid, user: &EndUser) {
        if !user.is_valid() {
            return;
        }
        let message = build::end_user_message(env_id, user, unix_ms(&now_ms()));
        match &self.inner.transport {
            Transport::InProcess(writers) => writers.end_users_detached(vec![message]),
        }
    }

    /// Stops taking data and stores everything buffered; returns when done (bound it with a timeout).
    pub async fn shutdown(&self) {
        match &self.inner.transport {
            Transport::InProcess(writers) => writers.shutdown().await,
        }
    }

    /// Builds the messages of a track body, marking its new users as seen.
    fn prepare(&self, env_id: Uuid, items: &[Insight]) -> (Messages, TrackOutcome) {
        let (now, seen_ms) = (Instant::now(), unix_ms(&now_ms()));
        let mut messages = Messages::default();
        let mut items_used = 0;
        let mut dedupe = self.inner.dedupe.lock().unwrap_or_else(PoisonError::into_inner);
        for item in items {
            let Some(user) = item.user.as_ref().filter(|u| u.is_valid()) else { continue };
            items_used += 1;
            if dedupe.first_seen(env_id, &user.key_id, now) {
                messages.end_users.push(build::end_user_message(env_id, user, seen_ms));
            }
            messages.insights.extend(build::insight_messages(env_id, user, item));
        }
        drop(dedupe);
        let outcome =
            TrackOutcome { items: items_used, end_users: messages.end_users.len(), insights: messages.insights.len() };
        (messages, outcome)
    }

    /// Marks users as unseen again (their publication failed).
    fn forget(&self, env_id: Uuid, key_ids: &[String]) {
        let mut dedupe = self.inner.dedupe.lock().unwrap_or_else(PoisonError::into_inner);
        for key_id in key_ids {
            dedupe.forget(env_id, key_id);
        }
    }

    /// Hands the messages to the transport and waits until they are durable.
    async fn publish(&self, messages: Messages) -> Result<(), IngestError> {
        match &self.inner.transport {
            Transport::InProcess(writers) => {
                let users = writers.end_users(messages.end_users);
                let insights = writers.insights(messages.insights);
                let (users, insights) = futures_util::future::join(stored(users), stored(insights)).await;
                users.and(insights).map_err(IngestError::from)
            }
        }
    }
}
