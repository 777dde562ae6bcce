//! Flags and segments: whole-environment loads (snapshots, catch-up) and upserts.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, Iterable, QueryFilter};
use uuid::Uuid;
use vane_schema::entity::{feature_flag, segment};
use vane_schema::wire::{FeatureFlag, Segment};

use super::{Store, StoreError};

impl Store {
    /// Every flag of an environment, archived ones included.
    pub async fn flags(&self, env_id: Uuid) -> Result<Vec<FeatureFlag>, StoreError> {
        let rows =
            feature_flag::Entity::find().filter(feature_flag::Column::EnvId.eq(env_id)).all(self.connection()).await?;
        Ok(rows.into_iter().map(FeatureFlag::from).collect())
    }

    /// Every segment of an environment, archived ones included.
    pub async fn segments(&self, env_id: Uuid) -> Result<Vec<Segment>, StoreError> {
        let rows = segment::Entity::find().filter(segment::Column::EnvId.eq(env_id)).all(self.connection()).await?;
        Ok(rows.into_iter().map(Segment::from).collect())
    }

    /// Inserts or replaces a flag (by id).
    pub async fn upsert_flag(&self, flag: &FeatureFlag) -> Result<(), StoreError> {
        let row: feature_flag::ActiveModel = feature_flag::Model::from(flag).into();
        let update = feature_flag::Column::iter().filter(|c| !matches!(c, feature_flag::Column::Id));
        feature_flag::Entity::insert(row)
            .on_conflict(OnConflict::column(feature_flag::Column::Id).update_columns(update).to_owned())
            .exec_without_returning(self.connection())
            .await?;
        Ok(())
    }

    /// Inserts or replaces a segment (by id).
    pub async fn upsert_segment(&self, s: &Segment) -> Result<(), StoreError> {
        let row: segment::ActiveModel = segment::Model::from(s).into();
        let update = segment::Column::iter().filter(|c| !matches!(c, segment::Column::Id));
        segment::Entity::insert(row)
            .on_conflict(OnConflict::column(segment::Column::Id).update_columns(update).to_owned())
            .exec_without_returning(self.connection())
            .await?;
        Ok(())
    }
}
