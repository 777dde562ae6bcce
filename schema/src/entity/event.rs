//! `events`: flag-evaluation and custom-metric insights, one row per event, keyed by the event's own UUID so a
//! redelivered message is written once.

use sea_orm::entity::prelude::*;

/// One insight row (FeatBit's `events` table, see the module docs above for the column types).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// The insight message's `uuid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `<envId>-<flagKey>` for evaluations, the metric name for metrics.
    pub distinct_id: String,
    /// Environment.
    pub env_id: Uuid,
    /// `FlagValue` or the metric type (`CustomEvent`).
    pub event: String,
    /// The FeatBit properties object (user, variation, tags…).
    pub properties: Json,
    /// When the SDK recorded it (millisecond precision).
    pub timestamp: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
