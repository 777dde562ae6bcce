//! `experiments`: A/B/n experiments of the management API, one row each. An experiment names a flag by key, a
//! baseline variation, its metrics (JSON, see `wire::experiment::Metric`) and a window; results are computed
//! from the `events` table on request, nothing is precomputed here.

use sea_orm::entity::prelude::*;

/// One experiment.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "experiments")]
pub struct Model {
    /// Id (assigned at creation).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Environment.
    pub env_id: Uuid,
    /// Display name.
    pub name: String,
    /// The flag whose variations are compared.
    pub flag_key: String,
    /// The variation the others are compared with.
    pub baseline_variation_id: String,
    /// The metrics, a JSON array.
    pub metrics: Json,
    /// Start of the window (inclusive).
    pub start: DateTimeUtc,
    /// End of the window (exclusive); open while `None`.
    pub end: Option<DateTimeUtc>,
    /// Significance level.
    pub alpha: f64,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
