//! Stored user attributes through the management API: set, read, forget. Each write is committed, then announced
//! as a user message so every node's hub re-evaluates that user's open client sessions.
//!
//! Validation of the attributes (the `[limits]` user checks) happens at the HTTP edge with `Limits::check_user`,
//! the same function every public endpoint uses.

use uuid::Uuid;
use vane_schema::wire::change::{Change, UserChange};
use vane_schema::wire::{CustomizedProperty, StoredAttributes};

use super::{Admin, AdminError};

impl Admin {
    /// Replaces user `key`'s stored attributes; returns them as stored and whether they were created.
    pub async fn put_user(
        &self,
        env_id: Uuid,
        key: &str,
        name: Option<String>,
        properties: Vec<CustomizedProperty>,
    ) -> Result<(StoredAttributes, bool), AdminError> {
        let (stored, created) = self
            .store
            .put_user_attributes(env_id, key, name, properties)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("environment {env_id}")))?;
        let change =
            UserChange { env_id, key_id: key.to_owned(), version: stored.version, attributes: Some(stored.clone()) };
        self.announce(Change::User(change)).await;
        Ok((stored, created))
    }

    /// User `key`'s stored attributes.
    pub async fn user(&self, env_id: Uuid, key: &str) -> Result<StoredAttributes, AdminError> {
        self.require_environment(env_id).await?;
        self.store.user_attributes(env_id, key).await?.ok_or_else(|| AdminError::NotFound(format!("user {key:?}")))
    }

    /// Forgets user `key` (stored attributes and end-user row; its insight events are kept).
    pub async fn delete_user(&self, env_id: Uuid, key: &str) -> Result<(), AdminError> {
        self.require_environment(env_id).await?;
        let version =
            self.store.delete_user(env_id, key).await?.ok_or_else(|| AdminError::NotFound(format!("user {key:?}")))?;
        self.announce(Change::User(UserChange { env_id, key_id: key.to_owned(), version, attributes: None })).await;
        Ok(())
    }
}
