//! Environments and their secrets.

use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;
use vane_schema::entity::environment;
use vane_schema::secret::{EnvSecret, SecretType};
use vane_schema::wire::time::now_ms;

use super::{Store, StoreError};

/// Input of [`Store::create_environment`].
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    /// Display name.
    pub name: String,
    /// Unique key.
    pub key: String,
    /// Free text.
    pub description: String,
}

/// Inside a write transaction: whether environment `id` exists, holding it (Postgres `FOR KEY SHARE`) until the
/// transaction ends so it cannot be deleted meanwhile. Every flag and segment write takes this lock first, and an
/// environment deletion takes the conflicting `FOR UPDATE` first, so the two are ordered and never deadlock.
pub async fn lock_environment_in(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let select = environment::Entity::find_by_id(id);
    let select =
        if db.get_database_backend() == DbBackend::Postgres { select.lock(LockType::KeyShare) } else { select };
    Ok(select.one(db).await?.is_some())
}

impl Store {
    /// Creates an environment with one server and one client secret.
    pub async fn create_environment(&self, new: NewEnvironment) -> Result<environment::Model, StoreError> {
        let id = Uuid::new_v4();
        let secrets = vec![EnvSecret::generate(id, SecretType::Server), EnvSecret::generate(id, SecretType::Client)];
        let now = now_ms();
        let row = environment::ActiveModel {
            id: Set(id),
            name: Set(new.name),
            key: Set(new.key.clone()),
            description: Set(new.description),
            secrets: Set(serde_json::to_value(&secrets).unwrap_or_default()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.connection())
            .await
            .map_err(super::flags::constraint_error(|| format!("environment key {:?}", new.key)))
    }

    /// Deletes an environment with its flags and segments (end users and insights are kept for reports).
    /// Returns whether it existed.
    pub async fn delete_environment(&self, id: Uuid) -> Result<bool, StoreError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        use vane_schema::entity::{feature_flag, segment};
        let txn = self.begin_write().await?;
        // Locked first, as every flag and segment write does (`lock_environment_in`): writes in flight finish
        // before the deletion, later ones find no environment; lock order is the same, so no deadlock.
        let select = environment::Entity::find_by_id(id);
        let select = if txn.get_database_backend() == DbBackend::Postgres { select.lock_exclusive() } else { select };
        if select.one(&txn).await?.is_none() {
            return Ok(false);
        }
        feature_flag::Entity::delete_many().filter(feature_flag::Column::EnvId.eq(id)).exec(&txn).await?;
        segment::Entity::delete_many().filter(segment::Column::EnvId.eq(id)).exec(&txn).await?;
        let deleted = environment::Entity::delete_by_id(id).exec(&txn).await?.rows_affected > 0;
        txn.commit().await?;
        Ok(deleted)
    }

    /// All environments, oldest first.
    pub async fn environments(&self) -> Result<Vec<environment::Model>, StoreError> {
        Ok(environment::Entity::find().order_by_asc(environment::Column::CreatedAt).all(self.connection()).await?)
    }

    /// One environment.
    pub async fn environment(&self, id: Uuid) -> Result<Option<environment::Model>, StoreError> {
        Ok(environment::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// How many environments exist (0 on a fresh database).
    pub async fn environment_count(&self) -> Result<u64, StoreError> {
        Ok(environment::Entity::find().count(self.connection()).await?)
    }

    /// Adds a new random secret of `kind` to an environment; returns it with the environment as now stored.
    pub async fn add_secret(&self, id: Uuid, kind: SecretType) -> Result<(EnvSecret, environment::Model), StoreError> {
        self.edit_secrets(id, |secrets| {
            let secret = EnvSecret::generate(id, kind);
            secrets.push(secret.clone());
            Ok(secret)
        })
        .await
    }

    /// Revokes a secret of an environment; the last secret of its type cannot be revoked (an environment always
    /// keeps a way in for each SDK type). Returns the environment as now stored.
    pub async fn revoke_secret(&self, id: Uuid, value: &str) -> Result<environment::Model, StoreError> {
        let edit = |secrets: &mut Vec<EnvSecret>| {
            let at = secrets.iter().position(|s| s.value == value).ok_or(StoreError::NoSecret)?;
            let kind = secrets[at].kind;
            if secrets.iter().filter(|s| s.kind == kind).count() == 1 {
                return Err(StoreError::LastSecret(kind));
            }
            secrets.remove(at);
            Ok(())
        };
        Ok(self.edit_secrets(id, edit).await?.1)
    }

    /// Changes an environment's secrets in one transaction holding the row (`FOR UPDATE`, ordered like a deletion),
    /// bumping `updatedAt` strictly so every node can tell the newer secret list from an older one.
    async fn edit_secrets<T>(
        &self,
        id: Uuid,
        edit: impl FnOnce(&mut Vec<EnvSecret>) -> Result<T, StoreError>,
    ) -> Result<(T, environment::Model), StoreError> {
        let txn = self.begin_write().await?;
        let select = environment::Entity::find_by_id(id);
        let select = if txn.get_database_backend() == DbBackend::Postgres { select.lock_exclusive() } else { select };
        let env = select.one(&txn).await?.ok_or(StoreError::NoEnvironment)?;
        let mut secrets = env.secrets();
        let out = edit(&mut secrets)?;
        let updated_at = now_ms().max(env.updated_at + chrono::Duration::milliseconds(1));
        let mut row: environment::ActiveModel = env.into();
        row.secrets = Set(serde_json::to_value(&secrets).unwrap_or_default());
        row.updated_at = Set(updated_at);
        let env = row.update(&txn).await?;
        txn.commit().await?;
        Ok((out, env))
    }
}
