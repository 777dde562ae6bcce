//! Feature flag JSON (featbit-protocol.md §4.1), as stored, cached, published and sent to server SDKs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::de::{compact_f64s, compact_opt_f64, lenient_bool, null_as_default, uuid_or_empty};
use super::time::millis;

/// A feature flag of one environment. Variation values are always strings (`"true"`, `"42"`, serialized JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FeatureFlag {
    /// GUID of the flag (the .NET SDK parses it as one).
    #[serde(default, deserialize_with = "uuid_or_empty")]
    pub id: Uuid,
    /// Environment the flag belongs to.
    #[serde(default, deserialize_with = "uuid_or_empty")]
    pub env_id: Uuid,
    /// Changes on every write; lets writers detect lost updates.
    #[serde(default, deserialize_with = "uuid_or_empty")]
    pub revision: Uuid,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Free text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Unique key within the environment, `^[a-zA-Z0-9._-]+$`; what SDKs evaluate by.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    /// `boolean`, `number`, `string` or `json`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variation_type: String,
    /// The values this flag can serve.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variations: Vec<Variation>,
    /// Individual targeting, checked in order before the rules.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_users: Vec<TargetUser>,
    /// Targeting rules, the first fully matching one wins.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<TargetRule>,
    /// When false every user gets `disabledVariationId`.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_enabled: bool,
    /// Variation served while the flag is disabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disabled_variation_id: String,
    /// Dispatch for users that no target or rule matched.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fallthrough: Fallthrough,
    /// Every targeted or rule-matched user is sent to experiments.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub expt_include_all_targets: bool,
    /// Labels used by the evaluate API's tag filter.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Archived flags evaluate to no variation ("flag archived").
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_archived: bool,
    /// Creation time.
    #[serde(default, with = "millis")]
    pub created_at: DateTime<Utc>,
    /// Last change; SDKs use it (in ms) as the flag's version.
    #[serde(default, with = "millis")]
    pub updated_at: DateTime<Utc>,
    /// Who created the flag, when known.
    #[serde(default)]
    pub creator_id: Option<Uuid>,
    /// Who changed it last, when known.
    #[serde(default)]
    pub updator_id: Option<Uuid>,
    /// Whether evaluation events of this flag are stored (FeatBit ELS's switch); custom events always are.
    #[serde(default)]
    pub insights_enabled: OnByDefault,
}

/// A switch that is on unless set to `false`: absent and `null` read as `true`, and so does `Default`, so flags
/// written before the switch existed keep their behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct OnByDefault(pub bool);

impl Default for OnByDefault {
    fn default() -> Self {
        Self(true)
    }
}

impl<'de> Deserialize<'de> for OnByDefault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(Self(true)),
            other => lenient_bool(other).map(Self).map_err(serde::de::Error::custom),
        }
    }
}

/// One value a flag can serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Variation {
    /// Identifier referenced by targets, rules and `disabledVariationId` (usually a GUID, free-form allowed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The served value, always a string.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// Users served one variation by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetUser {
    /// User keys (compared ordinally with the user's `keyId`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_ids: Vec<String>,
    /// The variation they get.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variation_id: String,
}

/// A targeting rule: all conditions must match, then a percentage dispatch picks the variation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetRule {
    /// Rule identifier.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Also the match reason sent to client SDKs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// User attribute whose value buckets users; `null`/blank means the user key.
    #[serde(default)]
    pub dispatch_key: Option<String>,
    /// Whether matched users may be sent to experiments.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub included_in_expt: bool,
    /// All must match; an empty list matches everyone.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<Condition>,
    /// Percentage split over variations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variations: Vec<RolloutVariation>,
}

/// One condition of a rule. Segment conditions have `property` `User is in segment` / `User is not in segment`,
/// `op: null` and a JSON list of segment ids as `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition identifier (may be absent in segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User attribute name (`keyId`, `name` or a custom property).
    #[serde(default, deserialize_with = "null_as_default")]
    pub property: String,
    /// Operator name, e.g. `Equal`, `IsOneOf`, `MatchRegex`; `null` for segment conditions.
    #[serde(default)]
    pub op: Option<String>,
    /// The operand, always a string (lists are JSON-encoded); `null` never matches.
    #[serde(default)]
    pub value: Option<String>,
}

/// A variation's share of a percentage split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RolloutVariation {
    /// The variation served to users in range.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `[min, max]` within `[0, 1]`, inclusive at both ends.
    #[serde(default, deserialize_with = "null_as_default", serialize_with = "compact_f64s")]
    pub rollout: Vec<f64>,
    /// Share of this range sent to experiments; absent means none.
    #[serde(default, serialize_with = "compact_opt_f64")]
    pub expt_rollout: Option<f64>,
}

/// Dispatch for users that no target or rule matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Fallthrough {
    /// User attribute whose value buckets users; `null`/blank means the user key.
    #[serde(default)]
    pub dispatch_key: Option<String>,
    /// Whether these users may be sent to experiments.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub included_in_expt: bool,
    /// Percentage split over variations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variations: Vec<RolloutVariation>,
}

impl FeatureFlag {
    /// The variation with this id, if the flag has one.
    pub fn variation(&self, id: &str) -> Option<&Variation> {
        self.variations.iter().find(|v| v.id == id)
    }
}

#[cfg(test)]
mod tests;
