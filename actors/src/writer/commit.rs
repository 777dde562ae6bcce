//! Committing one batch, and telling "the database is down" (keep the rows, back off, retry) from "these rows are
//! bad" (store the others, drop and log the bad ones) so one poison row cannot stall a writer forever.
//!
//! The test is a `SELECT 1` after a failure: if the database answers, the batch itself is at fault and is retried
//! row by row. Storage is idempotent, so retrying rows that were already written is harmless.

use sea_orm::DbErr;

use super::sink::Sink;
use crate::store::Store;

/// What became of a batch.
#[derive(Debug)]
pub enum Outcome {
    /// Every row is stored, except `dropped` rows the database refused on their own.
    Stored {
        /// Rows refused individually while the database was reachable (logged).
        dropped: usize,
    },
    /// The database could not be reached; nothing may be assumed stored.
    Unavailable(DbErr),
}

/// Writes `rows` with one multi-row statement, falling back to one row at a time if the database is up but
/// refuses the batch.
pub async fn commit<S: Sink>(store: &Store, rows: &[S::Row]) -> Outcome {
    let Err(error) = S::write(store.connection(), rows).await else {
        return Outcome::Stored { dropped: 0 };
    };
    if store.ping().await.is_err() {
        return Outcome::Unavailable(error);
    }
    tracing::warn!(table = S::TABLE, rows = rows.len(), error = %error, "batch refused; retrying row by row");
    row_by_row::<S>(store, rows).await
}

/// Writes each row alone; a row refused while the database still answers is dropped.
async fn row_by_row<S: Sink>(store: &Store, rows: &[S::Row]) -> Outcome {
    let mut dropped = 0;
    for row in rows {
        if let Err(error) = S::write(store.connection(), std::slice::from_ref(row)).await {
            if store.ping().await.is_err() {
                return Outcome::Unavailable(error);
            }
            tracing::error!(table = S::TABLE, error = %error, "row refused by the database; dropped");
            dropped += 1;
        }
    }
    Outcome::Stored { dropped }
}
