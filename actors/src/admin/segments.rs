//! Segment writes (create-or-replace, archive) and reads. A targeting change bumps the versions of the flags that
//! use the segment (in the same transaction, without rewriting their content), so SDKs that version by
//! `updatedAt` take their re-evaluated values.

use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;
use vane_schema::wire::change::SegmentChange;
use vane_schema::wire::{FeatureFlag, Segment};

use super::{Admin, AdminError, next_version, validate};
use crate::store::{bump_flags_in, lock_environment_in, segment_env_in, segment_in, upsert_segment_in};

impl Admin {
    /// Creates or replaces segment `id`; returns it as stored and whether it was created.
    pub async fn put_segment(&self, env_id: Uuid, id: Uuid, body: Value) -> Result<(Segment, bool), AdminError> {
        if !body.is_object() {
            return Err(AdminError::Body("expected a JSON object".into()));
        }
        let segment: Segment = serde_json::from_value(body).map_err(|e| AdminError::Body(e.to_string()))?;
        if !segment.key.is_empty() {
            validate::key(&segment.key)?;
        }
        self.save_segment(env_id, id, |_| Ok(segment)).await
    }

    /// Archives a segment (it is still evaluated, as in FeatBit).
    pub async fn archive_segment(&self, env_id: Uuid, id: Uuid) -> Result<Segment, AdminError> {
        let (segment, _) = self
            .save_segment(env_id, id, |existing| {
                let existing = existing.ok_or_else(|| AdminError::NotFound(format!("segment {id}")))?;
                Ok(Segment { is_archived: true, ..existing.clone() })
            })
            .await?;
        Ok(segment)
    }

    /// One segment.
    pub async fn segment(&self, env_id: Uuid, id: Uuid) -> Result<Segment, AdminError> {
        self.require_environment(env_id).await?;
        self.store.segment(env_id, id).await?.ok_or_else(|| AdminError::NotFound(format!("segment {id}")))
    }

    /// Every segment of an environment.
    pub async fn segments(&self, env_id: Uuid) -> Result<Vec<Segment>, AdminError> {
        self.require_environment(env_id).await?;
        let mut segments = self.store.segments(env_id).await?;
        segments.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(segments)
    }

    /// The write path: one transaction (`db.transaction` span) storing the segment and bumping the flags using
    /// it, then the cache (`cache.write`) and the publish (`change.publish`).
    async fn save_segment(
        &self,
        env_id: Uuid,
        id: Uuid,
        build: impl FnOnce(Option<&Segment>) -> Result<Segment, AdminError>,
    ) -> Result<(Segment, bool), AdminError> {
        self.require_environment(env_id).await?;
        let span = tracing::info_span!("db.transaction", db.operation.name = "save_segment", segment = %id);
        let (segment, created, bumped) = self.write_segment(env_id, id, build).instrument(span).await?;
        let cache = async {
            self.cache.put_segment(&segment).await;
            for flag in &bumped {
                self.cache.put_flag(flag).await;
            }
        };
        cache.instrument(tracing::info_span!("cache.write", segment = %id, flags = bumped.len())).await;
        let change =
            SegmentChange { segment: segment.clone(), affected_flag_ids: bumped.iter().map(|f| f.id).collect() };
        if let Err(e) = self.bus.publish_segment(change, bumped).await {
            tracing::error!(error = %e, "segment change committed but not published; nodes will catch up");
        }
        Ok((segment, created))
    }

    /// The transaction of [`save_segment`](Self::save_segment): the segment as stored, whether it is new, and
    /// the flags it bumped.
    async fn write_segment(
        &self,
        env_id: Uuid,
        id: Uuid,
        build: impl FnOnce(Option<&Segment>) -> Result<Segment, AdminError>,
    ) -> Result<(Segment, bool, Vec<FeatureFlag>), AdminError> {
        let txn = self.store.begin_write().await?;
        if !lock_environment_in(&txn, env_id).await? {
            return Err(AdminError::NotFound(format!("environment {env_id}")));
        }
        let existing = segment_in(&txn, env_id, id).await?;
        if existing.is_none() && segment_env_in(&txn, id).await?.is_some() {
            // Segment ids are global and the path names one: never take another environment's segment.
            return Err(AdminError::Conflict(format!(
                "segment {id} belongs to another environment; to copy it, PUT it under a new id"
            )));
        }
        let mut segment = build(existing.as_ref())?;
        segment.id = id;
        segment.env_id = env_id;
        segment.updated_at = next_version(existing.as_ref().map(|s| s.updated_at));
        segment.created_at = existing.as_ref().map_or(segment.updated_at, |s| s.created_at);
        if segment.key.is_empty() {
            segment.key = existing.as_ref().map_or_else(|| id.simple().to_string(), |s| s.key.clone());
        }
        validate::segment(&segment)?;
        upsert_segment_in(&txn, &segment).await?;
        let bumped = bump_flags_in(&txn, env_id, segment.updated_at, |f| validate::references_segment(f, id)).await?;
        txn.commit().await?;
        Ok((segment, existing.is_none(), bumped))
    }
}
