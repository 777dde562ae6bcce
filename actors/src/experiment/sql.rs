//! The hand-written statements of experiments and series, for Postgres and SQLite.
//!
//! Both read the hourly rollup (`flag_user_hours`, `metric_user_hours`: migration
//! `m20261201_000008_experiment_rollup`) for the whole UTC hours of the window, `[lo, hi)`, and the raw `events`
//! for the partial hours at its edges, `[from, lo)` and `[hi, to)` ([`RollupWindow`]). The answer is exactly the
//! raw-event computation: a rollup row keeps the first exposure of its hour (the smallest `(timestamp, id)`,
//! as a sort of the raw events would find it), and a user's metric hour counts whole when it starts at or after
//! their exposure, not at all when it ends before; only an hour that straddles the exposure is read from `events`.
//!
//! The raw parts read the user, variation and value out of `properties` with each backend's own operator (the
//! same helpers as the flag report), filtered by the initial `events` indexes: exposures by
//! `(distinct_id, timestamp)`, metric events by the same index on the metric's name.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::DbBackend;

use crate::ingest::report::{json_text, placeholders};

/// A window `[from, to)` split into whole UTC hours `[lo, hi)` (read from the rollup) and the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RollupWindow {
    pub from: DateTime<Utc>,
    pub lo: DateTime<Utc>,
    pub hi: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl RollupWindow {
    /// The whole hours of `[from, to)`; none (everything raw) when `whole_hours` is false or there are none.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, whole_hours: bool) -> Self {
        let hour = TimeDelta::hours(1);
        let floor = |t: DateTime<Utc>| t.duration_trunc(hour).unwrap_or(t);
        let ceil = |t: DateTime<Utc>| if floor(t) == t { t } else { floor(t) + hour };
        let (lo, hi) = (ceil(from), floor(to));
        if !whole_hours || lo >= hi { Self { from, lo: to, hi: to, to } } else { Self { from, lo, hi, to } }
    }
}

/// Parameters: `$1` env, `$2` flag distinct id, `$3` from, `$4` to, `$5` metric event name, `$6` `FlagValue`,
/// `$7` lo, `$8` hi. One row per variation: users exposed, users converted, and the sum and sum of squares of
/// per-user values.
pub(super) fn metric_arms(backend: DbBackend) -> String {
    let (user, variation, sent) =
        (json_text(backend, "userKeyId"), json_text(backend, "variationId"), json_true(backend, "sendToExperiment"));
    let exposure = |range: &str| {
        let filter = placeholders(backend, &format!("env_id = $1 AND distinct_id = $2 AND event = $6 AND {range}"));
        format!(
            "SELECT {user}, timestamp, id, COALESCE({variation}, '') FROM events WHERE {filter} AND {sent} AND {user} IS NOT NULL"
        )
    };
    let (metric_user, value) = (metric_user(backend), format!("COALESCE({}, 0)", json_number(backend, "numericValue")));
    let metric = |range: &str| {
        let filter = placeholders(backend, &format!("env_id = $1 AND distinct_id = $5 AND event <> $6 AND {range}"));
        format!("SELECT {metric_user} AS user_key, timestamp AS at, {value} AS value FROM events WHERE {filter}")
    };
    let p = |sql: &str| placeholders(backend, sql);
    // Every step is MATERIALIZED: inlined, Postgres estimates the JSON-derived sets at a handful of rows and picks
    // nested loops over users (one statistics test took 2,293 s; 12 s materialized). SQLite accepts the keyword too.
    format!(
        "WITH exposures AS MATERIALIZED (\
           SELECT user_key, first_sent_at AS at, first_sent_id AS id, variation_id FROM flag_user_hours \
           WHERE {rollup_exposures} AND first_sent_at IS NOT NULL AND keyed \
           UNION ALL {exposures_before} UNION ALL {exposures_after}), \
         firsts AS MATERIALIZED (\
           SELECT user_key, at AS exposed_at, variation_id FROM (\
             SELECT user_key, at, variation_id, ROW_NUMBER() OVER (PARTITION BY user_key ORDER BY at, id) AS nth \
             FROM exposures) ranked WHERE nth = 1), \
         hours AS MATERIALIZED (\
           SELECT user_key, hour, {hour_end} AS hour_end, events, total, first_at, last_at FROM metric_user_hours \
           WHERE {rollup_metric}), \
         straddling AS MATERIALIZED (\
           SELECT h.user_key AS s_user, h.hour AS s_from, h.hour_end AS s_to FROM firsts f \
           JOIN hours h ON h.user_key = f.user_key AND h.first_at < f.exposed_at AND h.last_at >= f.exposed_at), \
         raw AS MATERIALIZED ({metric_before} UNION ALL {metric_after} UNION ALL \
           SELECT {metric_user}, timestamp, {value} FROM straddling JOIN events \
           ON {straddling_filter} AND timestamp >= s_from AND timestamp < s_to AND {metric_user} = s_user), \
         after AS MATERIALIZED (\
           SELECT f.user_key, h.events AS n, h.total FROM firsts f \
           JOIN hours h ON h.user_key = f.user_key AND h.first_at >= f.exposed_at \
           UNION ALL SELECT f.user_key, 1, r.value FROM firsts f \
           JOIN raw r ON r.user_key = f.user_key AND r.at >= f.exposed_at), \
         per_user AS MATERIALIZED (\
           SELECT f.variation_id, COALESCE(SUM(a.n), 0) AS n_events, COALESCE(SUM(a.total), 0) AS total \
           FROM firsts f LEFT JOIN after a ON a.user_key = f.user_key GROUP BY f.user_key, f.variation_id) \
         SELECT variation_id, CAST(COUNT(*) AS BIGINT) AS exposed, \
                CAST(SUM(CASE WHEN n_events > 0 THEN 1 ELSE 0 END) AS BIGINT) AS converted, \
                CAST(SUM(total) AS DOUBLE PRECISION) AS total, \
                CAST(SUM(total * total) AS DOUBLE PRECISION) AS total_sq \
         FROM per_user GROUP BY variation_id ORDER BY variation_id",
        rollup_exposures = p("env_id = $1 AND flag_id = $2 AND hour >= $7 AND hour < $8"),
        exposures_before = exposure("timestamp >= $3 AND timestamp < $7"),
        exposures_after = exposure("timestamp >= $8 AND timestamp < $4"),
        hour_end = plus_hour(backend, "hour"),
        rollup_metric = p("env_id = $1 AND metric = $5 AND hour >= $7 AND hour < $8"),
        metric_before = metric("timestamp >= $3 AND timestamp < $7"),
        metric_after = metric("timestamp >= $8 AND timestamp < $4"),
        straddling_filter =
            p("env_id = $1 AND distinct_id = $5 AND event <> $6 AND timestamp >= $7 AND timestamp < $8"),
    )
}

/// Parameters: `$1` env, `$2` flag distinct id, `$3` `FlagValue`, `$4` from, `$5` to, `$6` lo, `$7` hi. One row
/// per bucket and variation: the bucket's start in Unix seconds, evaluations and distinct users. Buckets of an
/// hour or more are unions of whole rollup hours; minute buckets read `events` only (`lo = hi = to`).
pub(super) fn series(backend: DbBackend, bucket_seconds: i64) -> String {
    let (user, variation) = (json_text(backend, "userKeyId"), json_text(backend, "variationId"));
    let raw = |range: &str| {
        let filter = placeholders(backend, &format!("env_id = $1 AND distinct_id = $2 AND event = $3 AND {range}"));
        format!(
            "SELECT {}, COALESCE({variation}, ''), {user}, 1 FROM events WHERE {filter}",
            epoch(backend, "timestamp")
        )
    };
    format!(
        "WITH rows AS (\
           SELECT {hour_epoch} AS at, variation_id, CASE WHEN keyed THEN user_key END AS user_key, evaluations AS n \
           FROM flag_user_hours WHERE {rollup} \
           UNION ALL {before} UNION ALL {after}) \
         SELECT CAST((at / {bucket_seconds}) * {bucket_seconds} AS BIGINT) AS bucket, variation_id, \
                CAST(SUM(n) AS BIGINT) AS evaluations, CAST(COUNT(DISTINCT user_key) AS BIGINT) AS users \
         FROM rows GROUP BY 1, 2 ORDER BY 1, 2",
        hour_epoch = epoch(backend, "hour"),
        rollup = placeholders(backend, "env_id = $1 AND flag_id = $2 AND hour >= $6 AND hour < $7"),
        before = raw("timestamp >= $4 AND timestamp < $6"),
        after = raw("timestamp >= $7 AND timestamp < $5"),
    )
}

/// Unix seconds of timestamp column `column`.
fn epoch(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("CAST(strftime('%s', {column}) AS INTEGER)"),
        _ => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"),
    }
}

/// `column` plus one hour, in the stored form (SQLite: the driver's RFC 3339 text, see the migration).
fn plus_hour(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {column}, '+1 hour')"),
        _ => format!("{column} + INTERVAL '1 hour'"),
    }
}

/// Whether boolean field `field` of `properties` is true (SQLite's `json_extract` yields 1).
fn json_true(backend: DbBackend, field: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("{} = 1", json_text(backend, field)),
        _ => format!("{} = 'true'", json_text(backend, field)),
    }
}

/// Number field `field` of `properties`; null when absent or not a JSON number (a string would make the
/// Postgres cast fail; the rollup trigger reads it the same way).
fn json_number(backend: DbBackend, field: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!(
            "CASE WHEN json_type(properties, '$.{field}') IN ('integer', 'real') THEN {} END",
            json_text(backend, field)
        ),
        _ => format!(
            "CASE WHEN jsonb_typeof(properties -> '{field}') = 'number' THEN CAST({} AS DOUBLE PRECISION) END",
            json_text(backend, field)
        ),
    }
}

/// The user key of a custom-metric event, `properties.user.keyId`.
fn metric_user(backend: DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => json_text(backend, "user.keyId"),
        _ => "(properties -> 'user' ->> 'keyId')".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, m, 0).single().expect("time")
    }

    #[test]
    fn a_window_splits_into_whole_hours_and_edges() {
        let w = RollupWindow::new(at(1, 30), at(5, 10), true);
        assert_eq!((w.lo, w.hi), (at(2, 0), at(5, 0)));
        let aligned = RollupWindow::new(at(1, 0), at(5, 0), true);
        assert_eq!((aligned.lo, aligned.hi), (at(1, 0), at(5, 0)), "aligned edges are whole hours");
    }

    #[test]
    fn without_a_whole_hour_everything_is_raw() {
        let w = RollupWindow::new(at(1, 10), at(1, 50), true);
        assert_eq!((w.lo, w.hi), (at(1, 50), at(1, 50)));
        let straddle = RollupWindow::new(at(1, 10), at(2, 50), true);
        assert_eq!((straddle.lo, straddle.hi), (at(2, 50), at(2, 50)));
        let minutes = RollupWindow::new(at(1, 0), at(5, 0), false);
        assert_eq!((minutes.lo, minutes.hi), (at(5, 0), at(5, 0)));
    }
}
