//! `segments`: one row per segment, FeatBit's columns minus workspace scoping (see the module above).

use sea_orm::entity::prelude::*;

use super::{from_json, json};

use crate::wire::Segment;

/// One segment row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "segments")]
pub struct Model {
    /// Segment id, referenced by flag conditions.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning environment.
    pub env_id: Uuid,
    /// Display name.
    pub name: String,
    /// Key.
    pub key: String,
    /// Free text.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// `["user-key", …]`.
    pub included: Json,
    /// `["user-key", …]`.
    pub excluded: Json,
    /// `[{id, name, conditions}]`.
    pub rules: Json,
    /// `["tag", …]`.
    pub tags: Json,
    /// Archived segments are kept and still evaluated.
    pub is_archived: bool,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change (millisecond precision).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<&Segment> for Model {
    fn from(s: &Segment) -> Self {
        Self {
            id: s.id,
            env_id: s.env_id,
            name: s.name.clone(),
            key: s.key.clone(),
            description: s.description.clone(),
            included: json(&s.included),
            excluded: json(&s.excluded),
            rules: json(&s.rules),
            tags: json(&s.tags),
            is_archived: s.is_archived,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl From<Model> for Segment {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            env_id: m.env_id,
            name: m.name,
            key: m.key,
            description: m.description,
            included: from_json(&m.included),
            excluded: from_json(&m.excluded),
            rules: from_json(&m.rules),
            tags: from_json(&m.tags),
            is_archived: m.is_archived,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
