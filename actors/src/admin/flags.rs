//! Flag writes: create-or-replace, partial update, archive; and reads.

use std::collections::HashSet;

use sea_orm::DatabaseTransaction;
use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;
use vane_schema::wire::FeatureFlag;
use vane_schema::wire::change::Change;

use super::{Admin, AdminError, next_version, validate};
use crate::store::{flag_by_key_in, flag_env_in, lock_environment_in, upsert_flag_in};

/// Fields a client cannot set: the server owns identity and versioning.
const SERVER_OWNED: [&str; 6] = ["id", "envId", "key", "revision", "createdAt", "updatedAt"];

fn parse_flag(body: Value) -> Result<FeatureFlag, AdminError> {
    if !body.is_object() {
        return Err(AdminError::Body("expected a JSON object".into()));
    }
    serde_json::from_value(body).map_err(|e| AdminError::Body(e.to_string()))
}

impl Admin {
    /// Creates or replaces the flag `key`; returns it as stored and whether it was created.
    pub async fn put_flag(&self, env_id: Uuid, key: &str, body: Value) -> Result<(FeatureFlag, bool), AdminError> {
        validate::key(key)?;
        let body_key = body.get("key").and_then(Value::as_str).map(str::to_owned);
        let flag = parse_flag(body)?;
        if body_key.is_some_and(|k| k != key) {
            return Err(AdminError::Invalid { code: "key_mismatch", message: "body key differs from the path".into() });
        }
        // The path addresses the flag; the body's `id` (nil when absent) is only a wish for a new flag.
        self.save_flag(env_id, key, |_| Ok(flag)).await
    }

    /// Changes some top-level fields of an existing flag (e.g. `{"isEnabled": false}`).
    pub async fn patch_flag(&self, env_id: Uuid, key: &str, patch: Value) -> Result<FeatureFlag, AdminError> {
        validate::key(key)?;
        let Value::Object(patch) = patch else { return Err(AdminError::Body("expected a JSON object".into())) };
        if let Some(field) = patch.keys().find(|k| SERVER_OWNED.contains(&k.as_str())) {
            return Err(AdminError::Invalid { code: "read_only_field", message: format!("{field} cannot be changed") });
        }
        let (flag, _) = self
            .save_flag(env_id, key, |existing| {
                let existing = existing.ok_or_else(|| AdminError::NotFound(format!("flag {key:?}")))?;
                let Ok(Value::Object(mut merged)) = serde_json::to_value(existing) else {
                    return Err(AdminError::Body("stored flag is not an object".into()));
                };
                merged.extend(patch);
                parse_flag(Value::Object(merged))
            })
            .await?;
        Ok(flag)
    }

    /// Archives a flag (FeatBit's delete): SDKs see `isArchived: true`, client SDKs "flag archived".
    pub async fn archive_flag(&self, env_id: Uuid, key: &str) -> Result<FeatureFlag, AdminError> {
        self.patch_flag(env_id, key, serde_json::json!({"isArchived": true})).await
    }

    /// One flag.
    pub async fn flag(&self, env_id: Uuid, key: &str) -> Result<FeatureFlag, AdminError> {
        self.require_environment(env_id).await?;
        self.store.flag_by_key(env_id, key).await?.ok_or_else(|| AdminError::NotFound(format!("flag {key:?}")))
    }

    /// Every flag of an environment, by key.
    pub async fn flags(&self, env_id: Uuid) -> Result<Vec<FeatureFlag>, AdminError> {
        self.require_environment(env_id).await?;
        let mut flags = self.store.flags(env_id).await?;
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(flags)
    }

    /// The write path: in one transaction read the current flag (locked), build the new one, stamp it, validate
    /// it and store it; then cache and publish. Each step has its span (`db.transaction`, `cache.write`,
    /// `change.publish`) under the request's.
    async fn save_flag(
        &self,
        env_id: Uuid,
        key: &str,
        build: impl FnOnce(Option<&FeatureFlag>) -> Result<FeatureFlag, AdminError>,
    ) -> Result<(FeatureFlag, bool), AdminError> {
        self.require_environment(env_id).await?;
        let segments: HashSet<Uuid> = self.store.segments(env_id).await?.into_iter().map(|s| s.id).collect();
        let span = tracing::info_span!("db.transaction", db.operation.name = "save_flag", flag = key);
        let saved = self.write_flag(env_id, key, &segments, build).instrument(span).await?;
        let (flag, created) = match saved {
            Saved::Unchanged(flag) => return Ok((flag, false)),
            Saved::Written { flag, created } => (flag, created),
        };
        self.cache.put_flag(&flag).instrument(tracing::info_span!("cache.write", flag = key)).await;
        self.announce(Change::Flag(flag.clone())).await;
        Ok((flag, created))
    }

    /// The transaction of [`save_flag`](Self::save_flag).
    async fn write_flag(
        &self,
        env_id: Uuid,
        key: &str,
        segments: &HashSet<Uuid>,
        build: impl FnOnce(Option<&FeatureFlag>) -> Result<FeatureFlag, AdminError>,
    ) -> Result<Saved, AdminError> {
        let txn = self.store.begin_write().await?;
        if !lock_environment_in(&txn, env_id).await? {
            return Err(AdminError::NotFound(format!("environment {env_id}")));
        }
        let existing = flag_by_key_in(&txn, env_id, key).await?;
        let mut flag = build(existing.as_ref())?;
        flag.id = match &existing {
            Some(old) => old.id,
            None => new_flag_id(&txn, flag.id).await?,
        };
        flag.env_id = env_id;
        flag.key = key.to_owned();
        flag.revision = Uuid::new_v4();
        flag.updated_at = next_version(existing.as_ref().map(|f| f.updated_at));
        flag.created_at = existing.as_ref().map_or(flag.updated_at, |f| f.created_at);
        if flag.variation_type.is_empty() {
            flag.variation_type = "string".into();
        }
        validate::flag(&flag, segments)?;
        let created = existing.is_none();
        if let Some(old) = existing.filter(|old| same_content(old, &flag)) {
            return Ok(Saved::Unchanged(old));
        }
        upsert_flag_in(&txn, &flag).await?;
        txn.commit().await?;
        Ok(Saved::Written { flag, created })
    }
}

/// What the transaction of a flag write did.
enum Saved {
    /// The stored flag already had this content: nothing written, nothing to push.
    Unchanged(FeatureFlag),
    /// Written and committed.
    Written {
        /// The flag as stored.
        flag: FeatureFlag,
        /// Whether it is new.
        created: bool,
    },
}

/// The id of a new flag: the requested one when no flag anywhere has it (imports keep their ids), otherwise a
/// fresh one, so a flag copied from another environment (its GET body, id included) becomes this environment's
/// own flag and the original is untouched.
async fn new_flag_id(txn: &DatabaseTransaction, requested: Uuid) -> Result<Uuid, AdminError> {
    if requested.is_nil() || flag_env_in(txn, requested).await?.is_some() {
        return Ok(Uuid::new_v4());
    }
    Ok(requested)
}

/// Equal but for the version stamps: nothing to write or push.
fn same_content(old: &FeatureFlag, new: &FeatureFlag) -> bool {
    let stamp = |f: &FeatureFlag| FeatureFlag { revision: Uuid::nil(), updated_at: Default::default(), ..f.clone() };
    stamp(old) == stamp(new)
}
