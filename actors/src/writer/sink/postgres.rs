//! The Postgres fast path for `events`: one `INSERT … SELECT * FROM UNNEST(…)` per batch with six array
//! parameters, instead of six parameters per row.
//!
//! Why: a multi-row `VALUES` statement of 1,000 rows has 6,000 placeholders, a different text for every batch
//! size (so it is parsed and planned again each time) and a bind-parameter limit; the `UNNEST` form is one
//! prepared statement whatever the batch size, and sends `properties` as the JSON text it already is (cast to
//! `jsonb` by the server) instead of parsing and re-serializing it here. Measured in BENCHMARKS.md.

use std::sync::Arc;

use sea_orm::sqlx::{self, PgPool};
use sea_orm::{DbErr, RuntimeErr};

use super::EventRow;

/// Conflict-ignoring insert of a batch of events, column arrays in table order.
const INSERT_EVENTS: &str = "INSERT INTO events (id, distinct_id, env_id, event, properties, timestamp) \
     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[]::jsonb[], $6::timestamptz[]) \
     ON CONFLICT (id) DO NOTHING";

/// Writes `rows` with one statement.
pub async fn insert_events(pool: &PgPool, rows: &[EventRow]) -> Result<(), DbErr> {
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let distinct_ids: Vec<&str> = rows.iter().map(|r| r.distinct_id.as_str()).collect();
    let env_ids: Vec<_> = rows.iter().map(|r| r.env_id).collect();
    let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    let properties: Vec<&str> = rows.iter().map(|r| r.properties.as_str()).collect();
    let timestamps: Vec<_> = rows.iter().map(|r| r.timestamp).collect();
    sqlx::query(INSERT_EVENTS)
        .bind(&ids[..])
        .bind(&distinct_ids[..])
        .bind(&env_ids[..])
        .bind(&events[..])
        .bind(&properties[..])
        .bind(&timestamps[..])
        .execute(pool)
        .await
        .map_err(|e| DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e))))?;
    Ok(())
}
