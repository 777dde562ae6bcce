//! Segment JSON (featbit-protocol.md §4.2): a reusable group of users referenced by flag conditions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::de::{lenient_bool, null_as_default, uuid_or_empty};
use super::flag::Condition;
use super::time::millis;

/// A segment of one environment. Membership: `excluded` → `included` → any rule whose conditions all match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// GUID of the segment; flag conditions reference it.
    #[serde(default, deserialize_with = "uuid_or_empty")]
    pub id: Uuid,
    /// Environment the segment belongs to (FeatBit writes `""` for shared segments; read as nil).
    #[serde(default, deserialize_with = "uuid_or_empty")]
    pub env_id: Uuid,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Key (FeatBit ≥ 5.2.1).
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    /// Free text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// User keys always in the segment (unless excluded).
    #[serde(default, deserialize_with = "null_as_default")]
    pub included: Vec<String>,
    /// User keys never in the segment.
    #[serde(default, deserialize_with = "null_as_default")]
    pub excluded: Vec<String>,
    /// Rules; a user matching all conditions of any rule is in the segment.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<SegmentRule>,
    /// Labels.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Archived segments are still evaluated (as FeatBit does); SDKs see the flag.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_archived: bool,
    /// Creation time.
    #[serde(default, with = "millis")]
    pub created_at: DateTime<Utc>,
    /// Last change; the segment's version for SDKs.
    #[serde(default, with = "millis")]
    pub updated_at: DateTime<Utc>,
}

/// A segment rule: all conditions must match (no nested segment conditions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SegmentRule {
    /// Rule identifier.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// All must match; an empty list matches everyone.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<Condition>,
}
