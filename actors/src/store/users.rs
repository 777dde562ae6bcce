//! Stored user attributes (`user_attributes`): set, read and forgotten through the management API, read by hubs
//! for the users of their sessions and by the HTTP evaluation endpoints.
//!
//! Every write gets a `version` strictly greater than the row's previous one (Unix µs, or one more), which orders
//! the user messages the write publishes.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;
use vane_schema::entity::{end_user, user_attribute};
use vane_schema::wire::time::now_ms;
use vane_schema::wire::{CustomizedProperty, StoredAttributes};

use super::flags::constraint_error;
use super::{Store, StoreError, lock_environment_in};

/// The version of a write that follows one at `previous`.
fn next_user_version(previous: Option<i64>) -> i64 {
    let now = chrono::Utc::now().timestamp_micros();
    previous.map_or(now, |p| now.max(p + 1))
}

fn by_key(env_id: Uuid, key: &str) -> sea_orm::Select<user_attribute::Entity> {
    use user_attribute::Column as C;
    user_attribute::Entity::find().filter(C::EnvId.eq(env_id)).filter(C::KeyId.eq(key))
}

impl Store {
    /// Replaces user `key`'s stored attributes; returns them as stored and whether they were created, or `None`
    /// when the environment does not exist.
    pub async fn put_user_attributes(
        &self,
        env_id: Uuid,
        key: &str,
        name: Option<String>,
        properties: Vec<CustomizedProperty>,
    ) -> Result<Option<(StoredAttributes, bool)>, StoreError> {
        use user_attribute::Column as C;
        let txn = self.begin_write().await?;
        if !lock_environment_in(&txn, env_id).await? {
            return Ok(None);
        }
        let previous = by_key(env_id, key).one(&txn).await?;
        let row = user_attribute::Model {
            env_id,
            key_id: key.to_owned(),
            name,
            customized_properties: serde_json::to_value(&properties).unwrap_or_default(),
            version: next_user_version(previous.as_ref().map(|p| p.version)),
            updated_at: now_ms(),
        };
        let active: user_attribute::ActiveModel = row.clone().into();
        user_attribute::Entity::insert(active)
            .on_conflict(
                OnConflict::columns([C::EnvId, C::KeyId])
                    .update_columns([C::Name, C::CustomizedProperties, C::Version, C::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(constraint_error(|| format!("user {key:?}")))?;
        txn.commit().await?;
        Ok(Some((row.into(), previous.is_none())))
    }

    /// User `key`'s stored attributes, if any.
    pub async fn user_attributes(&self, env_id: Uuid, key: &str) -> Result<Option<StoredAttributes>, StoreError> {
        Ok(by_key(env_id, key).one(self.connection()).await?.map(Into::into))
    }

    /// The stored attributes of those of `keys` that have some (catch-up of a hub's users).
    pub async fn users_attributes(&self, env_id: Uuid, keys: &[String]) -> Result<Vec<StoredAttributes>, StoreError> {
        use user_attribute::Column as C;
        let mut found = Vec::new();
        // Bounded IN lists: SQLite caps bound parameters, and huge statements help nobody.
        for chunk in keys.chunks(500) {
            let rows = user_attribute::Entity::find()
                .filter(C::EnvId.eq(env_id))
                .filter(C::KeyId.is_in(chunk.iter().cloned()))
                .all(self.connection())
                .await?;
            found.extend(rows.into_iter().map(StoredAttributes::from));
        }
        Ok(found)
    }

    /// Forgets user `key`: its stored attributes and its end-user row (insight events are kept). Returns the
    /// version of the deletion, or `None` when there was nothing to forget.
    pub async fn delete_user(&self, env_id: Uuid, key: &str) -> Result<Option<i64>, StoreError> {
        let txn = self.connection().begin().await?;
        let previous = by_key(env_id, key).one(&txn).await?;
        let attributes = user_attribute::Entity::delete_many()
            .filter(user_attribute::Column::EnvId.eq(env_id))
            .filter(user_attribute::Column::KeyId.eq(key))
            .exec(&txn)
            .await?
            .rows_affected;
        let seen = end_user::Entity::delete_many()
            .filter(end_user::Column::EnvId.eq(env_id))
            .filter(end_user::Column::KeyId.eq(key))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok((attributes + seen > 0).then(|| next_user_version(previous.map(|p| p.version))))
    }
}
