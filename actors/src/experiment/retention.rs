//! Retention of `events`: rows older than `ingest.retention_days` are deleted by a periodic task, in batches of
//! [`BATCH_ROWS`] so no statement holds locks or grows the WAL for long and writers keep committing between
//! batches. A task rather than an actor handler: deleting is I/O and must not block a mailbox.
//!
//! Why not time partitions (drop a whole partition instead of deleting rows): a partitioned Postgres table needs
//! the partition key in every unique constraint, so the `id` primary key that makes redelivered messages land
//! once would become `(id, timestamp)`; SQLite has no partitions, so both backends would diverge; and the
//! `events` columns and keys are fixed this release. Batched deletes cost a scan per run instead (see README).
//!
//! The experiment rollup (`flag_user_hours`, `metric_user_hours`) is purged with the events: the cutoff is rounded
//! down to a whole UTC hour, so the rollup hours deleted hold exactly the events deleted and the rollup never
//! counts an event that is gone.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, Statement};

use crate::ingest::report::placeholders;
use crate::metrics::metrics;
use crate::store::{Store, StoreError};

/// Rows per delete statement.
pub const BATCH_ROWS: u64 = 10_000;
/// Pause between runs. Expired rows wait at most this long past their age.
pub const EVERY: Duration = Duration::from_secs(600);

/// Starts the periodic purge on the current runtime; `None` (nothing started) when `days` is 0.
pub fn spawn(store: Store, days: u32) -> Option<tokio::task::JoinHandle<()>> {
    if days == 0 {
        return None;
    }
    let age = chrono::Duration::days(i64::from(days));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match purge(&store, Utc::now() - age, BATCH_ROWS).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, days, "deleted expired events"),
                Err(e) => tracing::warn!(error = %e, "event retention failed; retrying next run"),
            }
        }
    }))
}

/// Deletes every event with `timestamp` before `cutoff` rounded down to the hour, and the rollup rows of those
/// hours, `batch` rows per statement; returns how many events.
pub async fn purge(store: &Store, cutoff: DateTime<Utc>, batch: u64) -> Result<u64, StoreError> {
    let cutoff = cutoff.duration_trunc(TimeDelta::hours(1)).unwrap_or(cutoff);
    let total = purge_table(
        store,
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE timestamp < $1 LIMIT $2)",
        cutoff,
        batch,
    )
    .await?;
    metrics().events_purged.add(total, &[]);
    for (table, key) in ROLLUP {
        let sql = format!("DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE hour < $1 LIMIT $2)");
        purge_table(store, &sql, cutoff, batch).await?;
    }
    Ok(total)
}

/// The rollup tables and their primary keys.
const ROLLUP: [(&str, &str); 2] = [
    ("flag_user_hours", "env_id, flag_id, hour, user_key, keyed, variation_id"),
    ("metric_user_hours", "env_id, metric, hour, user_key"),
];

/// Runs `sql` (parameters: the cutoff and the batch size) until it deletes fewer than `batch` rows.
async fn purge_table(store: &Store, sql: &str, cutoff: DateTime<Utc>, batch: u64) -> Result<u64, StoreError> {
    let backend = store.backend();
    let sql = placeholders(backend, sql);
    let mut total = 0;
    loop {
        let statement = Statement::from_sql_and_values(backend, &sql, [cutoff.into(), (batch as i64).into()]);
        let deleted = store.connection().execute_raw(statement).await?.rows_affected();
        total += deleted;
        if deleted < batch {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
