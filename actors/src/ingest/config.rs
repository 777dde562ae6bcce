//! `[ingest]` settings: writer batching, the AMQP prefetch and how long a track call may wait for durability.
//! Deserializable so the server's settings tree can embed it as is; every field has a default.

use std::time::Duration;

use serde::Deserialize;

use crate::writer::WriterConfig;

/// Ingestion settings of a node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Rows per statement; a writer flushes as soon as this many wait.
    pub batch_size: usize,
    /// Longest a row waits before a flush, in milliseconds.
    pub flush_ms: u64,
    /// Rows a writer may hold (database slow or down) before new data is refused (503, or requeued).
    pub max_buffered_rows: usize,
    /// Longest a track call waits for its data to become durable before answering 503, in milliseconds.
    pub track_timeout_ms: u64,
    /// Unacked AMQP messages per queue and node. One message carries one track call (tens of events), so the
    /// default keeps several batches in flight while the previous one commits.
    pub prefetch: u16,
    /// Parallel `events` writers per node (each commits one batch at a time).
    pub event_writers: usize,
    /// Events older than this many days are deleted in bounded batches; 0 keeps them forever.
    pub retention_days: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            flush_ms: 200,
            max_buffered_rows: 250_000,
            track_timeout_ms: 10_000,
            prefetch: 1_000,
            event_writers: 2,
            retention_days: 0,
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

    /// How long a track call may wait.
    pub fn track_timeout(&self) -> Duration {
        Duration::from_millis(self.track_timeout_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_defaults_and_unknown_keys_are_refused() {
        let empty: IngestConfig = serde_json::from_str("{}").expect("parses");
        assert_eq!(empty, IngestConfig::default());
        assert_eq!(empty.writer().max_batch, 1_000);
        assert_eq!(empty.writer().flush_every, Duration::from_millis(200));
        assert!(serde_json::from_str::<IngestConfig>(r#"{"batch":1}"#).is_err());
    }
}
