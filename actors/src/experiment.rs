//! Experiments and the insight questions beyond "evaluations per variation": A/B/n results ([`results`]),
//! evaluation time series ([`series`]), the per-flag insight switch at intake ([`insight_control`]) and event
//! retention ([`retention`]).
//!
//! Experiments are rows of `experiments` (definition only); results are computed by SQL over `events` on
//! request, on Postgres and SQLite alike, and the statistics in Rust ([`stats`]). HTTP lives in the server
//! crate; this module only knows [`ExperimentError`]s.

pub mod insight_control;
pub mod model;
pub mod results;
pub mod retention;
pub mod series;
mod sql;
pub mod stats;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use vane_schema::entity::experiment;
use vane_schema::wire::time::now_ms;

use self::model::{Checked, ExperimentInput, ExperimentView};
use crate::store::{Store, StoreError};

/// Why an experiment request failed.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Well-formed but not acceptable; `code` is stable.
    #[error("{message}")]
    Invalid {
        /// Stable machine-readable code.
        code: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A query parameter is out of range; `code` is stable.
    #[error("{message}")]
    BadQuery {
        /// Stable machine-readable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such experiment.
    #[error("{0} not found")]
    NotFound(String),
    /// The database failed.
    #[error("database unavailable")]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for ExperimentError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// Experiment definitions and their results; cheap to clone.
#[derive(Debug, Clone)]
pub struct Experiments {
    /// Where definitions and events live.
    store: Store,
}

impl Experiments {
    /// Experiments stored in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates an experiment of `env_id` (the environment is checked by the caller).
    pub async fn create(&self, env_id: Uuid, input: ExperimentInput) -> Result<ExperimentView, ExperimentError> {
        let checked = self.check(env_id, input).await?;
        let now = now_ms();
        let row = experiment::Model {
            id: Uuid::new_v4(),
            env_id,
            name: checked.name,
            flag_key: checked.flag_key,
            baseline_variation_id: checked.baseline_variation_id,
            metrics: serde_json::to_value(&checked.metrics).unwrap_or_default(),
            start: checked.start,
            end: checked.end,
            alpha: checked.alpha,
            created_at: now,
            updated_at: now,
        };
        Ok(row.into_active_model().insert(self.store.connection()).await?.into())
    }

    /// Every experiment of `env_id`, newest first.
    pub async fn list(&self, env_id: Uuid) -> Result<Vec<ExperimentView>, ExperimentError> {
        let rows = experiment::Entity::find()
            .filter(experiment::Column::EnvId.eq(env_id))
            .order_by_desc(experiment::Column::CreatedAt)
            .order_by_desc(experiment::Column::Id)
            .all(self.store.connection())
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One experiment.
    pub async fn get(&self, env_id: Uuid, id: Uuid) -> Result<ExperimentView, ExperimentError> {
        Ok(self.row(env_id, id).await?.into())
    }

    /// Replaces the definition of an experiment (every field of the input).
    pub async fn update(
        &self,
        env_id: Uuid,
        id: Uuid,
        input: ExperimentInput,
    ) -> Result<ExperimentView, ExperimentError> {
        let row = self.row(env_id, id).await?;
        let checked = self.check(env_id, input).await?;
        let mut active = row.into_active_model();
        active.name = Set(checked.name);
        active.flag_key = Set(checked.flag_key);
        active.baseline_variation_id = Set(checked.baseline_variation_id);
        active.metrics = Set(serde_json::to_value(&checked.metrics).unwrap_or_default());
        active.start = Set(checked.start);
        active.end = Set(checked.end);
        active.alpha = Set(checked.alpha);
        active.updated_at = Set(now_ms());
        Ok(active.update(self.store.connection()).await?.into())
    }

    /// Deletes an experiment (its events stay: they belong to the flag and the metrics).
    pub async fn delete(&self, env_id: Uuid, id: Uuid) -> Result<(), ExperimentError> {
        let result = experiment::Entity::delete_many()
            .filter(experiment::Column::EnvId.eq(env_id))
            .filter(experiment::Column::Id.eq(id))
            .exec(self.store.connection())
            .await?;
        if result.rows_affected == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    async fn row(&self, env_id: Uuid, id: Uuid) -> Result<experiment::Model, ExperimentError> {
        experiment::Entity::find_by_id(id)
            .filter(experiment::Column::EnvId.eq(env_id))
            .one(self.store.connection())
            .await?
            .ok_or_else(|| not_found(id))
    }

    async fn check(&self, env_id: Uuid, input: ExperimentInput) -> Result<Checked, ExperimentError> {
        let flag = self.store.flag_by_key(env_id, &input.flag_key).await?;
        input.check(flag.as_ref())
    }
}

fn not_found(id: Uuid) -> ExperimentError {
    ExperimentError::NotFound(format!("experiment {id}"))
}
