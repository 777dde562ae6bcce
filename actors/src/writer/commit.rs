//! Committing one batch, and telling "the database is down" (keep the rows, back off, retry) from "these rows are
//! bad" (store the others, dead-letter the bad ones) so one poison row cannot stall a writer forever.
//!
//! The test is a `SELECT 1` after a failure: if the database answers, the batch itself is at fault and is
//! **bisected**: each half is written on its own, and a failing half is split again, so one bad row among `n` costs
//! about `2·log2(n)` statements instead of `n` (the old row-by-row retry made one bad row per flush slow ingestion
//! for every environment). Storage is idempotent, so halves written again after an outage are harmless.
//!
//! Intake refuses what the database cannot store (limits, U+0000), so a row refused here is a bug or a schema
//! drift: it is logged at error level with its content (the dead letter an operator can replay by hand) and
//! counted in `vane.ingest.dead_lettered` with `reason = "unstorable"`.

use std::ops::Range;

use sea_orm::DbErr;

use super::sink::Sink;
use crate::metrics::{attr, label, metrics};
use crate::store::Store;

/// What became of a batch.
#[derive(Debug)]
pub enum Outcome {
    /// Every row is stored, except `dropped` rows the database refused on their own.
    Stored {
        /// Rows refused individually while the database was reachable (logged and counted).
        dropped: usize,
    },
    /// The database could not be reached; nothing may be assumed stored.
    Unavailable(DbErr),
}

/// Writes `rows` with one multi-row statement, bisecting if the database is up but refuses the batch.
pub async fn commit<S: Sink>(store: &Store, rows: &[S::Row]) -> Outcome {
    let Err(error) = S::write(store.connection(), rows).await else {
        return Outcome::Stored { dropped: 0 };
    };
    if store.ping().await.is_err() {
        return Outcome::Unavailable(error);
    }
    tracing::warn!(table = S::TABLE, rows = rows.len(), error = %error, "batch refused; bisecting");
    bisect::<S>(store, rows).await
}

/// Writes the halves of a refused batch, splitting every refused part again down to single rows, which are
/// dead-lettered. Returns as soon as the database stops answering.
async fn bisect<S: Sink>(store: &Store, rows: &[S::Row]) -> Outcome {
    let mut parts: Vec<Range<usize>> = halves(0..rows.len());
    let mut dropped = 0;
    while let Some(part) = parts.pop() {
        let Err(error) = S::write(store.connection(), &rows[part.clone()]).await else { continue };
        if store.ping().await.is_err() {
            return Outcome::Unavailable(error);
        }
        if part.len() == 1 {
            dead_letter::<S>(&rows[part.start], &error);
            dropped += 1;
        } else {
            parts.extend(halves(part));
        }
    }
    Outcome::Stored { dropped }
}

/// The two halves of a range of at least two rows (a single row is returned as is).
fn halves(range: Range<usize>) -> Vec<Range<usize>> {
    if range.len() < 2 {
        return vec![range];
    }
    let mid = range.start + range.len() / 2;
    vec![mid..range.end, range.start..mid]
}

/// Logs a row the database refuses on its own, with its content, and counts it.
fn dead_letter<S: Sink>(row: &S::Row, error: &DbErr) {
    tracing::error!(table = S::TABLE, error = %error, row = ?row, "row refused by the database; dead-lettered to this log");
    metrics().dead_lettered.add(1, &label(attr::REASON, "unstorable"));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use sea_orm::{DatabaseConnection, DbBackend, Statement};

    use super::*;
    use crate::store::StoreConfig;

    /// Statements written by [`Poisoned`].
    static WRITES: AtomicUsize = AtomicUsize::new(0);

    /// A table that refuses any batch holding row 0 (the database stays up).
    struct Poisoned;

    impl Sink for Poisoned {
        type Row = u32;
        const TABLE: &'static str = "poisoned";
        const COLUMNS: usize = 1;

        fn statements(_: DbBackend, _: &[u32]) -> Vec<Statement> {
            Vec::new()
        }

        async fn write(_: &DatabaseConnection, rows: &[u32]) -> Result<(), DbErr> {
            WRITES.fetch_add(1, Ordering::SeqCst);
            if rows.contains(&0) { Err(DbErr::Custom("poison".into())) } else { Ok(()) }
        }
    }

    #[test]
    fn halves_cover_the_range_and_single_rows_stay_whole() {
        assert_eq!(halves(0..5), [2..5, 0..2]);
        assert_eq!(halves(3..4).len(), 1, "a single row stays whole");
        assert_eq!(halves(0..2), [1..2, 0..1]);
    }

    #[actix::test]
    async fn one_poison_row_among_a_thousand_costs_a_logarithmic_number_of_statements() {
        let config =
            StoreConfig { url: "sqlite::memory:".into(), max_connections: 1, acquire_timeout: Duration::from_secs(5) };
        let store = Store::connect(&config).await.expect("sqlite in memory");
        let rows: Vec<u32> = (0..1_000).rev().collect();

        let outcome = commit::<Poisoned>(&store, &rows).await;

        assert!(matches!(outcome, Outcome::Stored { dropped: 1 }), "{outcome:?}");
        let writes = WRITES.load(Ordering::SeqCst);
        assert!(writes <= 1 + 2 * 10, "{writes} statements for one bad row among 1,000");
    }
}
