//! `feature_flags`: one row per flag, the FeatBit columns with JSON for nested parts.

use sea_orm::entity::prelude::*;

use super::{from_json, json};

use crate::wire::FeatureFlag;

/// One flag row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feature_flags")]
pub struct Model {
    /// Flag id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning environment.
    pub env_id: Uuid,
    /// New on every write.
    pub revision: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// Unique per environment.
    pub key: String,
    /// `boolean`, `number`, `string`, `json`.
    pub variation_type: String,
    /// `[{id, name, value}]`.
    pub variations: Json,
    /// `[{keyIds, variationId}]`.
    pub target_users: Json,
    /// Targeting rules.
    pub rules: Json,
    /// Whether targeting is on.
    pub is_enabled: bool,
    /// Served while disabled.
    pub disabled_variation_id: String,
    /// Default dispatch.
    pub fallthrough: Json,
    /// Experiment inclusion of targeted users.
    pub expt_include_all_targets: bool,
    /// `["tag", …]`.
    pub tags: Json,
    /// Archived flags are kept and still sent to SDKs.
    pub is_archived: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change (millisecond precision): the SDKs' version.
    pub updated_at: DateTimeUtc,
    /// Creator, when known.
    pub creator_id: Option<Uuid>,
    /// Last editor, when known.
    pub updator_id: Option<Uuid>,
    /// `insightsEnabled`: whether evaluation events of the flag are stored.
    pub insights_enabled: bool,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<&FeatureFlag> for Model {
    fn from(f: &FeatureFlag) -> Self {
        Self {
            id: f.id,
            env_id: f.env_id,
            revision: f.revision,
            name: f.name.clone(),
            description: f.description.clone(),
            key: f.key.clone(),
            variation_type: f.variation_type.clone(),
            variations: json(&f.variations),
            target_users: json(&f.target_users),
            rules: json(&f.rules),
            is_enabled: f.is_enabled,
            disabled_variation_id: f.disabled_variation_id.clone(),
            fallthrough: json(&f.fallthrough),
            expt_include_all_targets: f.expt_include_all_targets,
            tags: json(&f.tags),
            is_archived: f.is_archived,
            created_at: f.created_at,
            updated_at: f.updated_at,
            creator_id: f.creator_id,
            updator_id: f.updator_id,
            insights_enabled: f.insights_enabled.0,
        }
    }
}

impl From<Model> for FeatureFlag {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            env_id: m.env_id,
            revision: m.revision,
            name: m.name,
            description: m.description,
            key: m.key,
            variation_type: m.variation_type,
            variations: from_json(&m.variations),
            target_users: from_json(&m.target_users),
            rules: from_json(&m.rules),
            is_enabled: m.is_enabled,
            disabled_variation_id: m.disabled_variation_id,
            fallthrough: from_json(&m.fallthrough),
            expt_include_all_targets: m.expt_include_all_targets,
            tags: from_json(&m.tags),
            is_archived: m.is_archived,
            created_at: m.created_at,
            updated_at: m.updated_at,
            creator_id: m.creator_id,
            updator_id: m.updator_id,
            insights_enabled: crate::wire::flag::OnByDefault(m.insights_enabled),
        }
    }
}
