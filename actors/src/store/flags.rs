//! Flags and segments: whole-environment loads (snapshots, catch-up), single reads for the management API, and
//! upserts. The `*_in` functions take any connection so the management API can run them inside a transaction.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;
use vane_schema::entity::{feature_flag, segment};
use vane_schema::wire::time::now_ms;
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

/// Inserts or replaces a flag (by id) within its own environment. A row is never moved: if the id belongs to a
/// flag of another environment nothing is written and [`StoreError::InOtherEnvironment`] is returned.
pub async fn upsert_flag_in(db: &impl ConnectionTrait, flag: &FeatureFlag) -> Result<(), StoreError> {
    use feature_flag::Column as C;
    let row: feature_flag::ActiveModel = feature_flag::Model::from(flag).into();
    let update = C::iter().filter(|c| !matches!(c, C::Id | C::EnvId | C::CreatedAt));
    let written = feature_flag::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns(update)
                .action_and_where(same_env(feature_flag::Entity, C::EnvId))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(constraint_error(|| format!("flag key {:?}", flag.key)))?;
    if written == 0 {
        return Err(StoreError::InOtherEnvironment(format!("flag id {}", flag.id)));
    }
    Ok(())
}

/// Inserts or replaces a segment (by id) within its own environment; never moves one (see [`upsert_flag_in`]).
pub async fn upsert_segment_in(db: &impl ConnectionTrait, s: &Segment) -> Result<(), StoreError> {
    use segment::Column as C;
    let row: segment::ActiveModel = segment::Model::from(s).into();
    let update = C::iter().filter(|c| !matches!(c, C::Id | C::EnvId | C::CreatedAt));
    let written = segment::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns(update)
                .action_and_where(same_env(segment::Entity, C::EnvId))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(constraint_error(|| format!("segment key {:?}", s.key)))?;
    if written == 0 {
        return Err(StoreError::InOtherEnvironment(format!("segment id {}", s.id)));
    }
    Ok(())
}

/// `ON CONFLICT … DO UPDATE … WHERE table.env_id = excluded.env_id`: the conflicting row is only replaced when it
/// is in the same environment (Postgres and SQLite both report 0 rows written otherwise).
fn same_env<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(table: T, column: C) -> Expr {
    Expr::col((table, column)).equals((Alias::new("excluded"), column))
}

/// Which environment owns the flag with this id, if any flag has it.
pub async fn flag_env_in(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Uuid>, StoreError> {
    let row = feature_flag::Entity::find_by_id(id).select_only().column(feature_flag::Column::EnvId);
    Ok(row.into_tuple::<Uuid>().one(db).await?)
}

/// Which environment owns the segment with this id, if any segment has it.
pub async fn segment_env_in(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Uuid>, StoreError> {
    let row = segment::Entity::find_by_id(id).select_only().column(segment::Column::EnvId);
    Ok(row.into_tuple::<Uuid>().one(db).await?)
}

/// Gives the flags of `env_id` that `uses` selects a new version (`revision`, and `updatedAt` at least `at` and
/// strictly after their own), changing nothing else; returns them as now stored.
///
/// The flags are read locked (Postgres; SQLite transactions from [`Store::begin_write`] hold the write lock), and
/// each row is updated with `UPDATE … SET updated_at, revision … RETURNING`, so a flag written concurrently keeps
/// its content: it is bumped after that write commits, never overwritten by what was read before it.
pub async fn bump_flags_in(
    db: &impl ConnectionTrait,
    env_id: Uuid,
    at: DateTime<Utc>,
    uses: impl Fn(&FeatureFlag) -> bool,
) -> Result<Vec<FeatureFlag>, StoreError> {
    use feature_flag::Column as C;
    let select = feature_flag::Entity::find().filter(C::EnvId.eq(env_id)).order_by_asc(C::Id);
    let mut bumped = Vec::new();
    for flag in locked(select, db).all(db).await?.into_iter().map(FeatureFlag::from).filter(|f| uses(f)) {
        let updated_at = Ord::max(next_version(Some(flag.updated_at)), at);
        let rows = feature_flag::Entity::update_many()
            .col_expr(C::UpdatedAt, Expr::value(updated_at))
            .col_expr(C::Revision, Expr::value(Uuid::new_v4()))
            .filter(C::EnvId.eq(env_id))
            .filter(C::Id.eq(flag.id))
            .exec_with_returning(db)
            .await?;
        bumped.extend(rows.into_iter().map(FeatureFlag::from));
    }
    Ok(bumped)
}

/// The next `updatedAt` of something last changed at `previous`: now, but always strictly later, so SDKs (which
/// apply only newer versions) never miss a change made within the same millisecond.
pub fn next_version(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = now_ms();
    match previous {
        Some(p) if p >= now => p + Duration::milliseconds(1),
        _ => now,
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] and a foreign-key violation (the environment
/// was deleted meanwhile) to [`StoreError::NoEnvironment`].
pub(super) fn constraint_error(what: impl FnOnce() -> String) -> impl FnOnce(sea_orm::DbErr) -> StoreError {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what()),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::NoEnvironment,
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
