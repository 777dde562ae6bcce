//! The writer's metrics: rows buffered, batch sizes, flush durations and retries, labelled by table (`kind`).

use std::time::Instant;

use opentelemetry::KeyValue;

use crate::metrics::{attr, label, metrics};

/// Rows entered (`delta > 0`) or left (`delta < 0`) a writer's buffer.
pub(super) fn buffered(table: &'static str, delta: i64) {
    metrics().writer_buffered.add(delta, &label(attr::KIND, table));
}

/// One commit attempt: its duration by outcome; a stored batch's size, or a retry.
pub(super) fn flushed(table: &'static str, rows: usize, started: Instant, stored: bool) {
    let outcome = if stored { "ok" } else { "error" };
    let labels = [KeyValue::new(attr::KIND, table), KeyValue::new(attr::OUTCOME, outcome)];
    metrics().writer_flush_duration.record(started.elapsed().as_secs_f64(), &labels);
    if stored {
        metrics().writer_batch_size.record(rows as f64, &label(attr::KIND, table));
    } else {
        metrics().writer_retries.add(1, &label(attr::KIND, table));
    }
}
