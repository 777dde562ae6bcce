//! The node's two writers — `events` and `end_users` — started together on an arbiter of their own, and the
//! conversions from messages to their rows.
//!
//! The in-process transport appends to them directly; the AMQP consumers append what they receive. Either way
//! the caller gets a receiver that fires when the rows are committed.
//!
//! Insights may be spread over several `events` writers (whole appends, round robin): each flushes one batch at a
//! time, so parallel writers are how a batch's commit overlaps the next one's and Postgres uses more than one
//! core. End users stay on one writer (low volume after dedupe).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix::{Actor, Addr, Arbiter};
use tokio::sync::oneshot;
use vane_schema::wire::message::{EndUserMessage, InsightMessage};

use super::rows::{RowError, end_user_row, event_row};
use crate::propagation::current_span_context;
use crate::store::Store;
use crate::writer::{Append, BatchWriter, EndUsers, Events, Shutdown, WriterConfig, WriterError};

/// Fires once appended rows are committed (or refused).
pub type Stored = oneshot::Receiver<Result<(), WriterError>>;

/// Handles to the `events` and `end_users` writers.
#[derive(Clone)]
pub struct Writers {
    /// Insight rows (at least one writer).
    events: Arc<[Addr<BatchWriter<Events>>]>,
    /// Round-robin cursor over `events`.
    next: Arc<AtomicUsize>,
    /// End-user rows.
    users: Addr<BatchWriter<EndUsers>>,
    /// Whether both writers' last flush reached the database.
    database_ok: Arc<AtomicBool>,
}

impl Writers {
    /// Starts one writer per table on a new arbiter (a thread of their own). Needs a running actix `System`.
    pub fn start(store: Store, config: WriterConfig) -> Self {
        Self::start_with(store, config, 1)
    }

    /// Like [`start`](Self::start), with `event_writers` (at least one) writers for insights.
    pub fn start_with(store: Store, config: WriterConfig, event_writers: usize) -> Self {
        let arbiter = Arbiter::new().handle();
        let database_ok = Arc::new(AtomicBool::new(true));
        let events = (0..event_writers.max(1))
            .map(|_| {
                let (s, c, ok) = (store.clone(), config.clone(), database_ok.clone());
                BatchWriter::start_in_arbiter(&arbiter, move |_| BatchWriter::new(s, c).reporting_to(ok))
            })
            .collect();
        let ok = database_ok.clone();
        let users = BatchWriter::start_in_arbiter(&arbiter, move |_| BatchWriter::new(store, config).reporting_to(ok));
        Self { events, next: Arc::new(AtomicUsize::new(0)), users, database_ok }
    }

    /// False while a writer retries against an unreachable database.
    pub fn database_ok(&self) -> bool {
        self.database_ok.load(Ordering::Relaxed)
    }

    /// Queues insights; the receiver fires when they are stored. Malformed messages are logged and skipped.
    pub fn insights(&self, messages: Vec<InsightMessage>) -> Stored {
        let rows = convert(messages, event_row);
        let writer = self.next.fetch_add(1, Ordering::Relaxed) % self.events.len();
        append(&self.events[writer], rows)
    }

    /// Queues end users; the receiver fires when they are stored.
    pub fn end_users(&self, messages: Vec<EndUserMessage>) -> Stored {
        let rows = convert(messages, end_user_row);
        append(&self.users, rows)
    }

    /// Queues end users without waiting for the outcome (a full writer drops them, with a warning).
    pub fn end_users_detached(&self, messages: Vec<EndUserMessage>) {
        let rows = convert(messages, end_user_row);
        self.users.do_send(Append { rows, done: None, origin: current_span_context() });
    }

    /// Flushes both writers and stops them; returns when everything buffered is stored.
    pub async fn shutdown(&self) {
        let events = futures_util::future::join_all(self.events.iter().map(|w| w.send(Shutdown)));
        let _ = futures_util::future::join(events, self.users.send(Shutdown)).await;
    }
}

/// Sends `rows` with a completion channel. A writer that is gone reports [`WriterError::Stopped`] through the
/// dropped sender.
fn append<S: crate::writer::sink::Sink>(writer: &Addr<BatchWriter<S>>, rows: Vec<S::Row>) -> Stored {
    let (done, stored) = oneshot::channel();
    writer.do_send(Append { rows, done: Some(done), origin: current_span_context() });
    stored
}

/// Converts every message, logging and skipping those that cannot become rows.
fn convert<M, R>(messages: Vec<M>, to_row: fn(M) -> Result<R, RowError>) -> Vec<R> {
    messages
        .into_iter()
        .filter_map(|m| to_row(m).inspect_err(|e| tracing::warn!(error = %e, "message skipped")).ok())
        .collect()
}

/// Waits for a [`Stored`] receiver; a dropped sender means the writer stopped.
pub async fn stored(receiver: Stored) -> Result<(), WriterError> {
    receiver.await.unwrap_or(Err(WriterError::Stopped))
}
