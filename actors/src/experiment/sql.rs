//! The hand-written statements of experiments and series, for Postgres and SQLite.
//!
//! They read the user, variation and value out of the stored `properties` JSON with each backend's own operator
//! (the same helpers as the flag report), and filter on `(env_id, distinct_id, timestamp)`, the index this
//! module's migration adds. Casts are spelled `DOUBLE PRECISION`/`BIGINT`, which SQLite maps to REAL/INTEGER.

use sea_orm::DbBackend;

use crate::ingest::report::{json_text, placeholders};

/// Parameters: `$1` env, `$2` flag distinct id, `$3` from, `$4` to, `$5` metric event name, `$6` `FlagValue`.
/// One row per variation: users exposed, users converted, and the sum and sum of squares of per-user values.
///
/// Exposures and metric events form one stream, sorted once per user (exposures first, oldest first): the first
/// row of a user is their first exposure (its variation decides), and a running minimum gives each metric event
/// the exposure time it must follow. No join: a join of two JSON-derived sets is estimated at a handful of rows,
/// and a generic plan of the prepared statement then picks a nested loop that is quadratic in users (observed:
/// minutes at 1M events); one sort has no such cliff.
pub(super) fn metric_arms(backend: DbBackend) -> String {
    let (user, variation) = (json_text(backend, "userKeyId"), json_text(backend, "variationId"));
    let exposure_filter =
        placeholders(backend, "env_id = $1 AND distinct_id = $2 AND event = $6 AND timestamp >= $3 AND timestamp < $4");
    let metric_filter = placeholders(
        backend,
        "env_id = $1 AND distinct_id = $5 AND event <> $6 AND timestamp >= $3 AND timestamp < $4",
    );
    let sent = json_true(backend, "sendToExperiment");
    let (metric_user, value) = (metric_user(backend), json_number(backend, "numericValue"));
    format!(
        "WITH stream AS (\
           SELECT {user} AS user_key, timestamp AS at, id, 0 AS kind, COALESCE({variation}, '') AS variation_id, \
                  CAST(0 AS DOUBLE PRECISION) AS value \
           FROM events WHERE {exposure_filter} AND {sent} \
           UNION ALL \
           SELECT {metric_user}, timestamp, id, 1, '', COALESCE({value}, 0) \
           FROM events WHERE {metric_filter}), \
         marked AS (\
           SELECT user_key, kind, at, value, MIN(CASE WHEN kind = 0 THEN at END) OVER w AS exposed_at, \
                  FIRST_VALUE(kind) OVER w AS first_kind, FIRST_VALUE(variation_id) OVER w AS variation_id \
           FROM stream WHERE user_key IS NOT NULL \
           WINDOW w AS (PARTITION BY user_key ORDER BY kind, at, id)), \
         per_user AS (\
           SELECT variation_id, SUM(CASE WHEN kind = 1 AND at >= exposed_at THEN 1 ELSE 0 END) AS n_events, \
                  SUM(CASE WHEN kind = 1 AND at >= exposed_at THEN value ELSE 0 END) AS total \
           FROM marked WHERE first_kind = 0 GROUP BY user_key, variation_id) \
         SELECT variation_id, CAST(COUNT(*) AS BIGINT) AS exposed, \
                CAST(SUM(CASE WHEN n_events > 0 THEN 1 ELSE 0 END) AS BIGINT) AS converted, \
                CAST(SUM(total) AS DOUBLE PRECISION) AS total, \
                CAST(SUM(total * total) AS DOUBLE PRECISION) AS total_sq \
         FROM per_user GROUP BY variation_id ORDER BY variation_id"
    )
}

/// Parameters: `$1` env, `$2` flag distinct id, `$3` `FlagValue`, `$4` from, `$5` to. One row per bucket and
/// variation: the bucket's start in Unix seconds, evaluations and distinct users.
pub(super) fn series(backend: DbBackend, bucket_seconds: i64) -> String {
    let (user, variation) = (json_text(backend, "userKeyId"), json_text(backend, "variationId"));
    let filter =
        placeholders(backend, "env_id = $1 AND distinct_id = $2 AND event = $3 AND timestamp >= $4 AND timestamp < $5");
    let epoch = match backend {
        DbBackend::Sqlite => "CAST(strftime('%s', timestamp) AS INTEGER)".to_owned(),
        _ => "CAST(FLOOR(EXTRACT(EPOCH FROM timestamp)) AS BIGINT)".to_owned(),
    };
    format!(
        "SELECT CAST(({epoch} / {bucket_seconds}) * {bucket_seconds} AS BIGINT) AS bucket, \
                COALESCE({variation}, '') AS variation_id, CAST(COUNT(*) AS BIGINT) AS evaluations, \
                CAST(COUNT(DISTINCT {user}) AS BIGINT) AS users \
         FROM events WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
    )
}

/// Whether boolean field `field` of `properties` is true (SQLite's `json_extract` yields 1).
fn json_true(backend: DbBackend, field: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("{} = 1", json_text(backend, field)),
        _ => format!("{} = 'true'", json_text(backend, field)),
    }
}

/// Number field `field` of `properties`.
fn json_number(backend: DbBackend, field: &str) -> String {
    format!("CAST({} AS DOUBLE PRECISION)", json_text(backend, field))
}

/// The user key of a custom-metric event, `properties.user.keyId`.
fn metric_user(backend: DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => json_text(backend, "user.keyId"),
        _ => "(properties -> 'user' ->> 'keyId')".to_owned(),
    }
}
