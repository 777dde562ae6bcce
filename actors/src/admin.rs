//! The management API's behaviour: validate, write in one transaction (bumping `updatedAt` and `revision`),
//! update the shared cache, then publish the change so every node's hub pushes it to its SDKs.
//!
//! HTTP lives in the server crate; this module only knows [`AdminError`]s.

mod flags;
mod segments;
mod users;
pub mod validate;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use vane_schema::entity::environment;
use vane_schema::secret::{EnvSecret, SecretType};
use vane_schema::wire::change::{Change, EnvironmentDeleted, EnvironmentSecrets};
use vane_schema::wire::time::millis;

use crate::access::SecretIndex;
use crate::cache::Cache;
use crate::changes::ChangeBus;
use crate::store::{NewEnvironment, Store, StoreError, next_version};

/// Why a management request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The body is not JSON of the expected shape.
    #[error("invalid body: {0}")]
    Body(String),
    /// A key in the path is not `^[a-zA-Z0-9._-]{1,128}$`.
    #[error("invalid key {0:?}: use 1-128 of a-z A-Z 0-9 . _ -")]
    BadKey(String),
    /// Well-formed but not acceptable; `code` is stable.
    #[error("{message}")]
    Invalid {
        /// Stable machine-readable code.
        code: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// No such environment, flag or segment.
    #[error("{0} not found")]
    NotFound(String),
    /// Clashes with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database unavailable")]
    Store(#[source] StoreError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            e @ StoreError::InOtherEnvironment(_) => Self::Conflict(e.to_string()),
            StoreError::NoEnvironment => Self::NotFound("environment".into()),
            StoreError::NoSecret => Self::NotFound("secret".into()),
            e @ StoreError::LastSecret(_) => Self::Conflict(e.to_string()),
            other => Self::Store(other),
        }
    }
}

impl From<sea_orm::DbErr> for AdminError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// An environment as the management API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    /// Id (also encoded in its secrets).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique key.
    pub key: String,
    /// Free text.
    pub description: String,
    /// Its secrets: at least one server and one client secret.
    pub secrets: Vec<EnvSecret>,
    /// Creation time.
    #[serde(with = "millis")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "millis")]
    pub updated_at: DateTime<Utc>,
}

impl From<environment::Model> for EnvironmentView {
    fn from(m: environment::Model) -> Self {
        let secrets = m.secrets();
        Self {
            id: m.id,
            name: m.name,
            key: m.key,
            description: m.description,
            secrets,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The management service; cheap to clone.
#[derive(Clone)]
pub struct Admin {
    /// Source of truth.
    store: Store,
    /// Shared cache, updated after each commit.
    cache: Cache,
    /// Reaches every node's hub.
    bus: ChangeBus,
    /// This node's secret index: a created or added secret is indexed here before the 201, so the caller can use
    /// it on this node at once (other nodes accept it when the change reaches them).
    secrets: SecretIndex,
}

impl Admin {
    /// A management service writing to `store`, `cache` and `bus`, indexing new secrets in `secrets`.
    pub fn new(store: Store, cache: Cache, bus: ChangeBus, secrets: SecretIndex) -> Self {
        Self { store, cache, bus, secrets }
    }

    /// Creates an environment with a server and a client secret.
    pub async fn create_environment(&self, name: String, key: String) -> Result<EnvironmentView, AdminError> {
        validate::key(&key)?;
        let name = if name.trim().is_empty() { key.clone() } else { name };
        let env = self.store.create_environment(NewEnvironment { name, key, description: String::new() }).await?;
        self.secrets.apply(env.id, env.updated_at, env.secrets());
        self.announce(secrets_change(&env)).await;
        Ok(env.into())
    }

    /// Every environment.
    pub async fn environments(&self) -> Result<Vec<EnvironmentView>, AdminError> {
        Ok(self.store.environments().await?.into_iter().map(Into::into).collect())
    }

    /// One environment.
    pub async fn environment(&self, id: Uuid) -> Result<EnvironmentView, AdminError> {
        self.store
            .environment(id)
            .await?
            .map(Into::into)
            .ok_or_else(|| AdminError::NotFound(format!("environment {id}")))
    }

    /// Deletes an environment with its flags and segments; its SDK sessions are closed on every node.
    pub async fn delete_environment(&self, id: Uuid) -> Result<(), AdminError> {
        if !self.store.delete_environment(id).await? {
            return Err(AdminError::NotFound(format!("environment {id}")));
        }
        self.announce(Change::EnvironmentDeleted(EnvironmentDeleted { env_id: id })).await;
        Ok(())
    }

    /// Adds a secret of `kind`; this node accepts it at once, every other node once the change reaches it.
    pub async fn add_secret(&self, id: Uuid, kind: SecretType) -> Result<EnvSecret, AdminError> {
        let (secret, env) = self.store.add_secret(id, kind).await?;
        // Nothing is revoked by an addition, so indexing it here leaves nothing for the hub's own apply to miss.
        self.secrets.apply(env.id, env.updated_at, env.secrets());
        self.announce(secrets_change(&env)).await;
        Ok(secret)
    }

    /// Revokes a secret: every node refuses it, and closes the sessions opened with it, once the change reaches it
    /// (at the latest after its next catch-up). Not applied to the index here: the hub finds the sessions to close
    /// by what its apply removes from the index.
    pub async fn revoke_secret(&self, id: Uuid, value: &str) -> Result<(), AdminError> {
        let env = self.store.revoke_secret(id, value).await?;
        self.announce(secrets_change(&env)).await;
        Ok(())
    }

    async fn require_environment(&self, id: Uuid) -> Result<(), AdminError> {
        self.environment(id).await.map(drop)
    }

    /// Publishes a committed change. A failed publish is logged, not returned: the change is durable and every
    /// node catches up from the database after a broker reconnect and periodically.
    async fn announce(&self, change: Change) {
        if let Err(e) = self.bus.publish(change).await {
            tracing::error!(error = %e, "change committed but not published; nodes will catch up");
        }
    }
}

/// The change carrying an environment's secrets as stored.
fn secrets_change(env: &environment::Model) -> Change {
    Change::EnvironmentSecrets(EnvironmentSecrets {
        env_id: env.id,
        updated_at: env.updated_at,
        secrets: env.secrets(),
    })
}
