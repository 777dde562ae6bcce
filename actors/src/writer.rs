//! `BatchWriter<S>`: the actor that turns many small appends into few multi-row statements (house style §3.5).
//!
//! Rows are buffered and flushed when `max_batch` rows wait or every `flush_every`, whichever comes first. At most
//! one flush runs at a time (an in-flight flag; appends keep buffering meanwhile). Each append may carry a
//! completion channel that fires only after its rows are committed — the in-process intake answers SDKs on it and
//! the AMQP consumer acks deliveries on it, so nothing is acknowledged before it is stored.
//!
//! When the database is unreachable the batch goes back to the front of the buffer and is retried with
//! exponential backoff; the buffer is bounded by `max_buffered`, beyond which appends are refused
//! ([`WriterError::Overloaded`]) so callers can answer 503 instead of growing memory. [`Shutdown`] flushes
//! everything and then stops the actor.

mod buffer;
mod commit;
pub mod sink;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use self::buffer::{Buffer, Pending};
use self::commit::Outcome;
use self::sink::Sink;
use crate::metrics::{attr, label, metrics};
use crate::store::Store;

pub use self::buffer::Done;
pub use self::sink::{EndUsers, Events};

/// How a writer batches and retries.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Flush as soon as this many rows wait (also the usual statement size).
    pub max_batch: usize,
    /// Flush whatever waits at this interval (the latency bound of a small trickle).
    pub flush_every: Duration,
    /// Refuse appends while this many rows wait (the database is down or too slow).
    pub max_buffered: usize,
    /// First retry delay after the database could not be reached.
    pub retry_min: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_batch: 1_000,
            flush_every: Duration::from_millis(200),
            max_buffered: 100_000,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
        }
    }
}

/// Why rows were not (or will not be) stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriterError {
    /// Too many rows wait already; try again later.
    #[error("{table} writer is full ({buffered} rows waiting)")]
    Overloaded {
        /// Table of the writer.
        table: &'static str,
        /// Rows waiting when the append was refused.
        buffered: usize,
    },
    /// The writer is shutting down and takes no new rows.
    #[error("{0} writer is shutting down")]
    Closing(&'static str),
    /// The writer stopped before the rows were stored.
    #[error("writer stopped before storing the rows")]
    Stopped,
}

/// Rows to store; `done` (if any) fires once they are committed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Append<R: 'static> {
    /// The rows.
    pub rows: Vec<R>,
    /// Completion: `Ok(())` once stored, an error if they never will be.
    pub done: Option<Done>,
    /// The span that appended them (a track call, a broker delivery), linked from the flush span.
    pub origin: Option<opentelemetry::trace::SpanContext>,
}

/// Flush everything, then stop. Resolves when the buffer is empty (the caller bounds the wait with a timeout).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Buffers rows of one table and writes them in batches.
pub struct BatchWriter<S: Sink> {
    /// Database handle, shared with everything else on the node.
    store: Store,
    /// Batch size, interval, bound and backoff.
    config: WriterConfig,
    /// Appends not yet taken by a flush.
    buffer: Buffer<S::Row>,
    /// A flush (or its backoff wait) is in progress; no other may start.
    flushing: bool,
    /// Consecutive failed attempts, for the backoff.
    failures: u32,
    /// [`Shutdown`] received: refuse appends, flush all, stop when empty.
    closing: bool,
    /// Callers waiting for shutdown to finish.
    shutdown_waiters: Vec<tokio::sync::oneshot::Sender<()>>,
    /// Whether the last flush reached the database; shared with readiness checks.
    database_ok: Arc<AtomicBool>,
}

impl<S: Sink> BatchWriter<S> {
    /// A writer over `store`; start it on an arbiter of its own so flushes do not compete with HTTP workers.
    pub fn new(store: Store, config: WriterConfig) -> Self {
        Self {
            store,
            config,
            buffer: Buffer::default(),
            flushing: false,
            failures: 0,
            closing: false,
            shutdown_waiters: Vec::new(),
            database_ok: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Reports database reachability into `flag` (true after a stored batch, false while retrying).
    pub fn reporting_to(mut self, flag: Arc<AtomicBool>) -> Self {
        self.database_ok = flag;
        self
    }

    /// Starts a flush if none runs and enough rows wait (any rows at all when `force`).
    fn maybe_flush(&mut self, force: bool, ctx: &mut Context<Self>) {
        if self.flushing {
            return;
        }
        if self.buffer.is_empty() {
            self.finish_shutdown(ctx);
            return;
        }
        if !force && !self.closing && self.buffer.rows() < self.config.max_batch {
            return;
        }
        let Some(batch) = self.buffer.take(self.config.max_batch) else { return };
        self.flushing = true;
        let store = self.store.clone();
        let started = Instant::now();
        let span = flush_span::<S>(&batch);
        let flush = async move {
            let outcome = commit::commit::<S>(&store, &batch.rows).await;
            (batch, outcome)
        };
        ctx.spawn(flush.instrument(span.clone()).into_actor(self).map(move |(batch, outcome), act, ctx| {
            span.record("outcome", if matches!(outcome, Outcome::Stored { .. }) { "ok" } else { "error" });
            act.flushed(batch, outcome, started, ctx);
        }));
    }

    /// Completes a stored batch, or puts it back and schedules a retry.
    fn flushed(&mut self, batch: Pending<S::Row>, outcome: Outcome, started: Instant, ctx: &mut Context<Self>) {
        match outcome {
            Outcome::Stored { dropped } => {
                record_flush::<S>(&batch, started, "ok");
                let ms = started.elapsed().as_secs_f64() * 1e3;
                tracing::debug!(table = S::TABLE, rows = batch.rows.len(), dropped, ms, "batch stored");
                self.failures = 0;
                self.flushing = false;
                self.database_ok.store(true, Ordering::Relaxed);
                batch.complete(&Ok(()));
                self.maybe_flush(false, ctx);
            }
            Outcome::Unavailable(error) => {
                record_flush::<S>(&batch, started, "error");
                metrics().writer_retries.add(1, &label(attr::KIND, S::TABLE));
                let delay = self.backoff();
                self.database_ok.store(false, Ordering::Relaxed);
                tracing::warn!(table = S::TABLE, rows = batch.rows.len(), error = %error, retry_in = ?delay,
                    "database unavailable; batch kept for retry");
                self.buffer.restore(batch);
                ctx.run_later(delay, |act, ctx| {
                    act.flushing = false;
                    act.maybe_flush(true, ctx);
                });
            }
        }
    }

    /// `retry_min × 2^failures`, capped at `retry_max`.
    fn backoff(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let factor = 2u32.saturating_pow(self.failures.saturating_sub(1).min(16));
        self.config.retry_min.saturating_mul(factor).min(self.config.retry_max)
    }

    /// Stops once shutting down with nothing left to write.
    fn finish_shutdown(&mut self, ctx: &mut Context<Self>) {
        if self.closing && !self.flushing && self.buffer.is_empty() {
            for waiter in self.shutdown_waiters.drain(..) {
                let _ = waiter.send(());
            }
            ctx.stop();
        }
    }

    /// Why an append cannot be accepted right now, if it cannot.
    fn refusal(&self) -> Option<WriterError> {
        if self.closing {
            return Some(WriterError::Closing(S::TABLE));
        }
        let buffered = self.buffer.rows();
        (buffered >= self.config.max_buffered).then_some(WriterError::Overloaded { table: S::TABLE, buffered })
    }
}

/// The span of one flush attempt: a root span (a batch serves many callers) linked to the spans that appended its
/// rows, so a track call's trace leads to the flush that stored it.
fn flush_span<S: Sink>(batch: &Pending<S::Row>) -> tracing::Span {
    let span =
        tracing::info_span!(parent: None, "writer.flush", table = S::TABLE, rows = batch.rows.len(), outcome = Empty);
    for origin in &batch.origins {
        span.add_link(origin.clone());
    }
    span
}

/// Records one flush attempt; a stored batch also leaves the buffered gauge and counts as a batch size.
fn record_flush<S: Sink>(batch: &Pending<S::Row>, started: Instant, outcome: &'static str) {
    let m = metrics();
    let kind = opentelemetry::KeyValue::new(attr::KIND, S::TABLE);
    let attrs = [kind.clone(), opentelemetry::KeyValue::new(attr::OUTCOME, outcome)];
    m.writer_flush_duration.record(started.elapsed().as_secs_f64(), &attrs);
    if outcome == "ok" {
        let rows = batch.rows.len();
        m.writer_batch_size.record(rows as f64, std::slice::from_ref(&kind));
        m.writer_buffered.add(-(rows as i64), &[kind]);
    }
}

// === impl Actor ===

impl<S: Sink> Actor for BatchWriter<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.config.flush_every, |act, ctx| act.maybe_flush(true, ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if !self.buffer.is_empty() {
            tracing::error!(table = S::TABLE, rows = self.buffer.rows(), "writer stopped with rows not stored");
            metrics().writer_buffered.add(-(self.buffer.rows() as i64), &label(attr::KIND, S::TABLE));
        }
        self.buffer.fail_all(&Err(WriterError::Stopped));
    }
}

impl<S: Sink> Handler<Append<S::Row>> for BatchWriter<S> {
    type Result = ();

    fn handle(&mut self, msg: Append<S::Row>, ctx: &mut Self::Context) {
        if let Some(refusal) = self.refusal() {
            match msg.done {
                Some(done) => drop(done.send(Err(refusal))),
                None => tracing::warn!(table = S::TABLE, rows = msg.rows.len(), error = %refusal, "rows dropped"),
            }
            return;
        }
        if msg.rows.is_empty() {
            if let Some(done) = msg.done {
                let _ = done.send(Ok(()));
            }
            return;
        }
        metrics().writer_buffered.add(msg.rows.len() as i64, &label(attr::KIND, S::TABLE));
        self.buffer.push(msg.rows, msg.done, msg.origin);
        self.maybe_flush(false, ctx);
    }
}

impl<S: Sink> Handler<Shutdown> for BatchWriter<S> {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shutdown_waiters.push(tx);
        self.closing = true;
        self.maybe_flush(true, ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}
