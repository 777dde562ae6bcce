//! `GET …/insights/feature-flags/{key}/series`: a flag's evaluations and distinct users per variation per time
//! bucket (minute, hour or day, in UTC), for charts. Every bucket of the window is listed, empty ones with no
//! variations, so a chart needs no gap filling.

use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vane_schema::wire::message::FLAG_VALUE_EVENT;
use vane_schema::wire::time::millis;

use super::{ExperimentError, Experiments, sql};

/// Most buckets one request may span (a week of minutes is about 10,000).
pub const MAX_BUCKETS: i64 = 10_080;

/// Bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86,400 s (UTC days).
    Day,
}

impl Interval {
    /// The width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }
}

/// The series of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// Bucket width.
    pub interval: Interval,
    /// Every bucket overlapping the window, oldest first.
    pub buckets: Vec<Bucket>,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Start of the bucket.
    #[serde(with = "millis")]
    pub time: DateTime<Utc>,
    /// Evaluations in the bucket (all variations).
    pub evaluations: i64,
    /// Per variation that was served in the bucket, by id.
    pub variations: Vec<BucketVariation>,
}

/// One variation in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketVariation {
    /// Variation id.
    pub variation_id: String,
    /// Evaluation events.
    pub evaluations: i64,
    /// Distinct users among them.
    pub unique_users: i64,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    bucket: i64,
    variation_id: String,
    evaluations: i64,
    users: i64,
}

impl Experiments {
    /// The series of flag `flag_key` of `env_id` over `from <= t < to`.
    pub async fn series(
        &self,
        env_id: Uuid,
        flag_key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        interval: Interval,
    ) -> Result<Series, ExperimentError> {
        let width = interval.seconds();
        let first = from.timestamp().div_euclid(width) * width;
        let count = (to.timestamp() - 1 - first).div_euclid(width) + 1;
        if count > MAX_BUCKETS {
            let message = format!("{count} buckets requested; at most {MAX_BUCKETS}: use a wider interval");
            return Err(ExperimentError::BadQuery { code: "too_many_buckets", message });
        }
        let backend = self.store.backend();
        let flag_id = format!("{}-{flag_key}", env_id.hyphenated());
        // Minute buckets are finer than the rollup's hours.
        let w = sql::RollupWindow::new(from, to, width >= 3_600);
        let values =
            [env_id.into(), flag_id.into(), FLAG_VALUE_EVENT.into(), from.into(), to.into(), w.lo.into(), w.hi.into()];
        let statement = Statement::from_sql_and_values(backend, sql::series(backend, width), values);
        let rows = Row::find_by_statement(statement).all(self.store.connection()).await?;
        Ok(Series { interval, buckets: fill(first, count, width, rows) })
    }
}

/// Every bucket from `first` (Unix s), with the rows that fall into it.
fn fill(first: i64, count: i64, width: i64, rows: Vec<Row>) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = (0..count.max(0))
        .map(|i| Bucket {
            time: DateTime::from_timestamp(first + i * width, 0).unwrap_or_default(),
            evaluations: 0,
            variations: Vec::new(),
        })
        .collect();
    for row in rows {
        let Some(bucket) = usize::try_from((row.bucket - first) / width).ok().and_then(|i| buckets.get_mut(i)) else {
            continue;
        };
        bucket.evaluations += row.evaluations;
        bucket.variations.push(BucketVariation {
            variation_id: row.variation_id,
            evaluations: row.evaluations,
            unique_users: row.users,
        });
    }
    buckets
}
