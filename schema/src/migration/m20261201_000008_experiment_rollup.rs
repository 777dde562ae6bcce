//! The experiment rollup: per user and UTC hour, what the results and series queries need, so they read a few
//! narrow rows per user instead of every JSON event (BENCHMARKS.md, "Experiment results").
//!
//! * `flag_user_hours` — per `(env, flag, hour, user, variation)`: evaluations, and the first exposure sent to
//!   experiments (`first_sent_at`, `first_sent_id`: the smallest `(timestamp, id)`, as the raw query orders).
//!   `keyed` is false for events without a user key (stored as `''`): they count as evaluations, not as users.
//! * `metric_user_hours` — per `(env, metric, hour, user)` of non-`FlagValue` events with a user key: the number
//!   of events, the sum of their `numericValue` (0 when absent or not a number) and their first and last time.
//!
//! Maintained by the database in the transaction of the `events` insert, whatever inserts them: a statement-level
//! trigger with a transition table on Postgres (one aggregated upsert per batch, and only rows really inserted —
//! a redelivered event that `ON CONFLICT DO NOTHING` skips is not in the transition table), a row trigger on SQLite
//! (an `INSERT` skipped by its conflict clause fires no trigger). Existing events are rolled up by the migration.
//! Exact by construction: the queries read full hours here and the partial hours at the window edges from
//! `events`; see `actors/src/experiment/sql`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Creates the rollup tables and their triggers, and rolls up the stored events.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Both tables, created alike on both backends (`BOOLEAN`, `TIMESTAMPTZ`, `UUID` map to SQLite affinities).
const TABLES: &str = "\
CREATE TABLE flag_user_hours (env_id UUID NOT NULL, flag_id TEXT NOT NULL, hour TIMESTAMPTZ NOT NULL,
    user_key TEXT NOT NULL, keyed BOOLEAN NOT NULL, variation_id TEXT NOT NULL, evaluations BIGINT NOT NULL,
    first_sent_at TIMESTAMPTZ, first_sent_id UUID,
    PRIMARY KEY (env_id, flag_id, hour, user_key, keyed, variation_id));
CREATE INDEX ix_flag_user_hours_hour ON flag_user_hours (hour);
CREATE TABLE metric_user_hours (env_id UUID NOT NULL, metric TEXT NOT NULL, hour TIMESTAMPTZ NOT NULL,
    user_key TEXT NOT NULL, events BIGINT NOT NULL, total DOUBLE PRECISION NOT NULL,
    first_at TIMESTAMPTZ NOT NULL, last_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (env_id, metric, hour, user_key));
CREATE INDEX ix_metric_user_hours_hour ON metric_user_hours (hour);";

/// The earlier of the stored (`r`) and the new first exposure, for `column`.
fn earlier_first(r: &str, column: &str) -> String {
    format!(
        "{column} = CASE WHEN excluded.first_sent_at IS NOT NULL AND ({r}.first_sent_at IS NULL \
           OR (excluded.first_sent_at, excluded.first_sent_id) < ({r}.first_sent_at, {r}.first_sent_id)) \
         THEN excluded.{column} ELSE {r}.{column} END"
    )
}

/// The upsert clauses: counts add up, the first exposure and the time range keep their extremes. `r` names the
/// stored row (an alias on Postgres; SQLite allows no alias inside a trigger, so there it is the table name).
fn on_conflict_flag(r: &str) -> String {
    format!(
        "ON CONFLICT (env_id, flag_id, hour, user_key, keyed, variation_id) DO UPDATE SET \
           evaluations = {r}.evaluations + excluded.evaluations, {}, {}",
        earlier_first(r, "first_sent_at"),
        earlier_first(r, "first_sent_id")
    )
}

fn on_conflict_metric(r: &str, min: &str, max: &str) -> String {
    format!(
        "ON CONFLICT (env_id, metric, hour, user_key) DO UPDATE SET events = {r}.events + excluded.events, \
           total = {r}.total + excluded.total, first_at = {min}({r}.first_at, excluded.first_at), \
           last_at = {max}({r}.last_at, excluded.last_at)"
    )
}

/// Postgres: the two aggregated upserts of the events in `source` (the transition table, or `events` for the
/// backfill), in key order so concurrent writers lock rows in one order. The hour is truncated in UTC.
fn postgres_rollup(source: &str) -> String {
    let hour = "date_trunc('hour', timestamp AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'";
    format!(
        "INSERT INTO flag_user_hours AS r (env_id, flag_id, hour, user_key, keyed, variation_id, evaluations, \
            first_sent_at, first_sent_id) \
         SELECT env_id, distinct_id, {hour}, COALESCE(properties ->> 'userKeyId', ''), \
                properties ->> 'userKeyId' IS NOT NULL, COALESCE(properties ->> 'variationId', ''), COUNT(*), \
                MIN(timestamp) FILTER (WHERE sent), (array_agg(id ORDER BY timestamp, id) FILTER (WHERE sent))[1] \
         FROM (SELECT *, properties ->> 'sendToExperiment' = 'true' AS sent FROM {source} \
               WHERE event = 'FlagValue') n \
         GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6 {flag};
         INSERT INTO metric_user_hours AS r (env_id, metric, hour, user_key, events, total, first_at, last_at) \
         SELECT env_id, distinct_id, {hour}, properties -> 'user' ->> 'keyId', COUNT(*), \
                SUM(CASE WHEN jsonb_typeof(properties -> 'numericValue') = 'number' \
                    THEN CAST(properties ->> 'numericValue' AS DOUBLE PRECISION) ELSE 0 END), \
                MIN(timestamp), MAX(timestamp) \
         FROM {source} WHERE event <> 'FlagValue' AND properties -> 'user' ->> 'keyId' IS NOT NULL \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 {metric};",
        flag = on_conflict_flag("r"),
        metric = on_conflict_metric("r", "LEAST", "GREATEST"),
    )
}

fn postgres_up() -> String {
    format!(
        "CREATE FUNCTION vane_events_rollup() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN {} RETURN NULL; \
         END $body$;
         CREATE TRIGGER events_rollup AFTER INSERT ON events REFERENCING NEW TABLE AS new_events \
           FOR EACH STATEMENT EXECUTE FUNCTION vane_events_rollup();
         {}",
        postgres_rollup("new_events"),
        postgres_rollup("events")
    )
}

/// SQLite: one upsert per inserted row. Hours are written in the text form the driver binds `DateTime<Utc>` in
/// (`2026-01-01T05:00:00+00:00`), so they compare with bound parameters.
fn sqlite_up() -> String {
    let user = "json_extract(NEW.properties, '$.userKeyId')";
    let sent = "json_extract(NEW.properties, '$.sendToExperiment') = 1";
    let metric_user = "json_extract(NEW.properties, '$.user.keyId')";
    let value = "json_extract(NEW.properties, '$.numericValue')";
    let hour = "strftime('%Y-%m-%dT%H:00:00+00:00', NEW.timestamp)";
    format!(
        "CREATE TRIGGER events_rollup_flag AFTER INSERT ON events WHEN NEW.event = 'FlagValue' BEGIN \
           INSERT INTO flag_user_hours (env_id, flag_id, hour, user_key, keyed, variation_id, evaluations, \
             first_sent_at, first_sent_id) \
           VALUES (NEW.env_id, NEW.distinct_id, {hour}, COALESCE({user}, ''), {user} IS NOT NULL, \
             COALESCE(json_extract(NEW.properties, '$.variationId'), ''), 1, \
             CASE WHEN {sent} THEN NEW.timestamp END, CASE WHEN {sent} THEN NEW.id END) {flag}; \
         END;
         CREATE TRIGGER events_rollup_metric AFTER INSERT ON events \
           WHEN NEW.event <> 'FlagValue' AND {metric_user} IS NOT NULL BEGIN \
           INSERT INTO metric_user_hours (env_id, metric, hour, user_key, events, total, first_at, last_at) \
           VALUES (NEW.env_id, NEW.distinct_id, {hour}, {metric_user}, 1, \
             CASE WHEN json_type(NEW.properties, '$.numericValue') IN ('integer', 'real') THEN {value} ELSE 0 END, \
             NEW.timestamp, NEW.timestamp) {metric}; \
         END;",
        flag = on_conflict_flag("flag_user_hours"),
        metric = on_conflict_metric("metric_user_hours", "MIN", "MAX"),
    )
}

/// SQLite backfill: the stored events go through the triggers again (deleted and re-inserted in one
/// transaction), so the rollup has one definition. SQLite deployments are the small, embedded ones.
const SQLITE_BACKFILL: &str = "\
CREATE TEMP TABLE events_backfill AS SELECT * FROM events;
DELETE FROM events;
INSERT INTO events SELECT * FROM events_backfill;
DROP TABLE events_backfill;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(TABLES).await?;
        match m.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared(&sqlite_up()).await?;
                db.execute_unprepared(SQLITE_BACKFILL).await?;
            }
            _ => {
                db.execute_unprepared(&postgres_up()).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let triggers = match m.get_database_backend() {
            DbBackend::Sqlite => "DROP TRIGGER events_rollup_flag; DROP TRIGGER events_rollup_metric;",
            _ => "DROP TRIGGER events_rollup ON events; DROP FUNCTION vane_events_rollup();",
        };
        m.get_connection().execute_unprepared(triggers).await?;
        m.get_connection().execute_unprepared("DROP TABLE metric_user_hours; DROP TABLE flag_user_hours;").await?;
        Ok(())
    }
}
