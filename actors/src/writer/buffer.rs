//! A writer's queue of appended rows, each append with the channel that reports when its rows are stored.
//!
//! Batches are cut at append boundaries: an append's completion must fire only when *all* its rows are committed,
//! and rows of one AMQP delivery must be acked together.

use std::collections::VecDeque;

use opentelemetry::trace::SpanContext;
use tokio::sync::oneshot;

use super::WriterError;

/// Most traces one flush links to: a batch of thousands of track calls is not worth thousands of links.
const MAX_LINKS: usize = 32;

/// Reports that an append is stored (or why it never will be).
pub type Done = oneshot::Sender<Result<(), WriterError>>;

/// Rows waiting together, with every completion that fires once they are stored.
#[derive(Debug)]
pub struct Pending<R> {
    /// The rows, in append order.
    pub rows: Vec<R>,
    /// Who to tell.
    pub done: Vec<Done>,
    /// The spans that appended these rows (at most [`MAX_LINKS`]), linked from the flush span.
    pub origins: Vec<SpanContext>,
}

impl<R> Pending<R> {
    /// Tells every waiter the outcome (a waiter that gave up is ignored).
    pub fn complete(self, outcome: &Result<(), WriterError>) {
        for done in self.done {
            let _ = done.send(outcome.clone());
        }
    }
}

/// FIFO of pending appends with a running row count.
#[derive(Debug)]
pub struct Buffer<R> {
    /// Appends not yet taken by a flush.
    queue: VecDeque<Pending<R>>,
    /// Rows in `queue`.
    rows: usize,
}

impl<R> Default for Buffer<R> {
    fn default() -> Self {
        Self { queue: VecDeque::new(), rows: 0 }
    }
}

impl<R> Buffer<R> {
    /// Rows waiting.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues an append at the back.
    pub fn push(&mut self, rows: Vec<R>, done: Option<Done>, origin: Option<SpanContext>) {
        self.rows += rows.len();
        self.queue.push_back(Pending { rows, done: done.into_iter().collect(), origins: origin.into_iter().collect() });
    }

    /// Takes whole appends from the front until at least `max_rows` rows (always at least one append).
    pub fn take(&mut self, max_rows: usize) -> Option<Pending<R>> {
        let mut batch = self.queue.pop_front()?;
        while batch.rows.len() < max_rows {
            let Some(next) = self.queue.pop_front() else { break };
            if batch.rows.len() + next.rows.len() > max_rows && !batch.rows.is_empty() {
                self.queue.push_front(next);
                break;
            }
            batch.rows.extend(next.rows);
            batch.done.extend(next.done);
            let room = MAX_LINKS.saturating_sub(batch.origins.len());
            batch.origins.extend(next.origins.into_iter().take(room));
        }
        self.rows -= batch.rows.len();
        Some(batch)
    }

    /// Puts a batch that could not be stored back at the front, so it is retried first and order is kept.
    pub fn restore(&mut self, batch: Pending<R>) {
        self.rows += batch.rows.len();
        self.queue.push_front(batch);
    }

    /// Empties the buffer, telling every waiter `outcome`.
    pub fn fail_all(&mut self, outcome: &Result<(), WriterError>) {
        self.rows = 0;
        for pending in self.queue.drain(..) {
            pending.complete(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_cuts_at_append_boundaries_up_to_the_batch_size() {
        let mut b = Buffer::default();
        b.push(vec![1, 2], None, None);
        b.push(vec![3, 4], None, None);
        b.push(vec![5], None, None);
        let first = b.take(4).expect("some");
        assert_eq!(first.rows, [1, 2, 3, 4]);
        assert_eq!(b.rows(), 1);
        assert_eq!(b.take(4).expect("some").rows, [5]);
        assert!(b.take(4).is_none() && b.is_empty());
    }

    #[test]
    fn an_oversized_append_is_taken_whole_and_never_merged_beyond_the_size() {
        let mut b = Buffer::default();
        b.push(vec![1, 2, 3], None, None);
        b.push(vec![4], None, None);
        assert_eq!(b.take(2).expect("some").rows, [1, 2, 3]);
        b.push(vec![5, 6], None, None);
        assert_eq!(b.take(2).expect("some").rows, [4], "4 + 5,6 would exceed 2");
    }

    #[test]
    fn restore_puts_a_failed_batch_first_and_completions_fire_once() {
        let mut b = Buffer::default();
        let (tx, mut rx) = oneshot::channel();
        b.push(vec![1], Some(tx), None);
        b.push(vec![2], None, None);
        let batch = b.take(1).expect("some");
        b.restore(batch);
        assert_eq!(b.rows(), 2);
        let again = b.take(10).expect("some");
        assert_eq!(again.rows, [1, 2]);
        again.complete(&Ok(()));
        assert_eq!(rx.try_recv().expect("fired"), Ok(()));
    }
}
