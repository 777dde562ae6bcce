//! Flags and segments: whole-environment loads (snapshots, catch-up), single reads for the management API, and
//! upserts. The `*_in` functions take any connection so the management API can run them inside a transaction.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryFilter, QuerySelect, Select};
use uuid::Uuid;
use vane_schema::entity::{feature_flag, segment};
use vane_schema::wire::{FeatureFlag, Segment};

use super::{Store, StoreError};

/// Row locks exist on Postgres; SQLite serializes writers anyway and has no `FOR UPDATE`.
fn locked<E: EntityTrait>(select: Select<E>, db: &impl ConnectionTrait) -> Select<E> {
    if db.get_database_backend() == DbBackend::Postgres { select.lock_exclusive() } else { select }
}

/// A flag by key, locked for update when inside a Postgres transaction.
pub async fn flag_by_key_in(
    db: &impl ConnectionTrait,
    env_id: Uuid,
    key: &str,
) -> Result<Option<FeatureFlag>, StoreError> {
    let select = feature_flag::Entity::find()
        .filter(feature_flag::Column::EnvId.eq(env_id))
        .filter(feature_flag::Column::Key.eq(key));
    Ok(locked(select, db).one(db).await?.map(FeatureFlag::from))
}

/// A segment by id within an environment, locked for update when inside a Postgres transaction.
pub async fn segment_in(db: &impl ConnectionTrait, env_id: Uuid, id: Uuid) -> Result<Option<Segment>, StoreError> {
    let select = segment::Entity::find().filter(segment::Column::EnvId.eq(env_id)).filter(segment::Column::Id.eq(id));
    Ok(locked(select, db).one(db).await?.map(Segment::from))
}

/// Inserts or replaces a flag (by id).
pub async fn upsert_flag_in(db: &impl ConnectionTrait, flag: &FeatureFlag) -> Result<(), StoreError> {
    let row: feature_flag::ActiveModel = feature_flag::Model::from(flag).into();
    let update = feature_flag::Column::iter().filter(|c| !matches!(c, feature_flag::Column::Id));
    feature_flag::Entity::insert(row)
        .on_conflict(OnConflict::column(feature_flag::Column::Id).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await
        .map_err(unique_as_conflict(|| format!("flag key {:?}", flag.key)))?;
    Ok(())
}

/// Inserts or replaces a segment (by id).
pub async fn upsert_segment_in(db: &impl ConnectionTrait, s: &Segment) -> Result<(), StoreError> {
    let row: segment::ActiveModel = segment::Model::from(s).into();
    let update = segment::Column::iter().filter(|c| !matches!(c, segment::Column::Id));
    segment::Entity::insert(row)
        .on_conflict(OnConflict::column(segment::Column::Id).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(super) fn unique_as_conflict(what: impl FnOnce() -> String) -> impl FnOnce(sea_orm::DbErr) -> StoreError {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what()),
        _ => StoreError::Db(e),
    }
}

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

    /// The flags of an environment with these ids.
    pub async fn flags_by_ids(&self, env_id: Uuid, ids: &[Uuid]) -> Result<Vec<FeatureFlag>, StoreError> {
        let rows = feature_flag::Entity::find()
            .filter(feature_flag::Column::EnvId.eq(env_id))
            .filter(feature_flag::Column::Id.is_in(ids.iter().copied()))
            .all(self.connection())
            .await?;
        Ok(rows.into_iter().map(FeatureFlag::from).collect())
    }

    /// A flag by key.
    pub async fn flag_by_key(&self, env_id: Uuid, key: &str) -> Result<Option<FeatureFlag>, StoreError> {
        let select = feature_flag::Entity::find()
            .filter(feature_flag::Column::EnvId.eq(env_id))
            .filter(feature_flag::Column::Key.eq(key));
        Ok(select.one(self.connection()).await?.map(FeatureFlag::from))
    }

    /// A segment by id within an environment.
    pub async fn segment(&self, env_id: Uuid, id: Uuid) -> Result<Option<Segment>, StoreError> {
        let select =
            segment::Entity::find().filter(segment::Column::EnvId.eq(env_id)).filter(segment::Column::Id.eq(id));
        Ok(select.one(self.connection()).await?.map(Segment::from))
    }

    /// Inserts or replaces a flag (by id).
    pub async fn upsert_flag(&self, flag: &FeatureFlag) -> Result<(), StoreError> {
        upsert_flag_in(self.connection(), flag).await
    }

    /// Inserts or replaces a segment (by id).
    pub async fn upsert_segment(&self, s: &Segment) -> Result<(), StoreError> {
        upsert_segment_in(self.connection(), s).await
    }
}
