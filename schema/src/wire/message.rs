//! Messages the intake publishes and the writers consume (featbit-protocol.md §6.3): end users seen by SDKs and
//! insight events (flag evaluations and custom metrics), plus the names of the queues that carry them.
//!
//! The shapes are FeatBit's own: end-user messages are camelCase; insight messages are **snake_case** at the top
//! level, carry their `properties` as a JSON-encoded *string* and a timestamp in **microseconds**. The property
//! objects inside that string are typed here too ([`FlagValueProperties`], [`MetricProperties`]) so producers and
//! tests agree on every field.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::user::CustomizedProperty;

/// Queue of [`EndUserMessage`]s.
pub const END_USERS_QUEUE: &str = "featbit-endusers";
/// Queue of [`InsightMessage`]s.
pub const INSIGHTS_QUEUE: &str = "featbit-insights";
/// `event` of a flag evaluation.
pub const FLAG_VALUE_EVENT: &str = "FlagValue";
/// `route` FeatBit writes into every flag evaluation's properties.
pub const FLAG_VALUE_ROUTE: &str = "/Variation/GetMultiOptionVariation";

/// A user seen by a client data-sync or by the first insight within the dedupe window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndUserMessage {
    /// Environment, written lowercase and hyphenated.
    pub env_id: Uuid,
    /// The user's key (never blank).
    pub key_id: String,
    /// Display name, `""` when the SDK sent none.
    pub name: String,
    /// Custom attributes, `[]` when the SDK sent none.
    pub customized_properties: Vec<CustomizedProperty>,
    /// When the user was seen, Unix ms. Not in FeatBit's shape (consumers ignore unknown fields); the writer uses
    /// it so an older message redelivered late cannot overwrite a newer name. `0` (absent) means "now".
    #[serde(default)]
    pub timestamp: i64,
}

/// One insight event on `featbit-insights` (snake_case, unlike everything else FeatBit sends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightMessage {
    /// Assigned once at intake; the `events` primary key, so a redelivered message is stored once.
    pub uuid: Uuid,
    /// `<envId>-<flagKey>` for evaluations, the metric's `eventName` for metrics.
    pub distinct_id: String,
    /// Environment as a lowercase hyphenated UUID string.
    pub env_id: String,
    /// [`FLAG_VALUE_EVENT`] or the metric's `type` (`CustomEvent`).
    pub event: String,
    /// [`FlagValueProperties`] or [`MetricProperties`], JSON-encoded into a string.
    pub properties: String,
    /// When the SDK recorded the event, Unix **microseconds** (SDK ms × 1000).
    pub timestamp: i64,
}

/// The `properties` of a flag evaluation, field order as FeatBit writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagValueProperties {
    /// Always [`FLAG_VALUE_ROUTE`].
    pub route: String,
    /// `<envId>-<flagKey>`.
    pub flag_id: String,
    /// Environment.
    pub env_id: String,
    /// Always `""` (FeatBit leaves it empty in the evaluation server).
    pub account_id: String,
    /// Always `""`.
    pub project_id: String,
    /// The evaluated flag.
    pub feature_flag_key: String,
    /// Whether the evaluation counts for experiments.
    pub send_to_experiment: bool,
    /// The user's key.
    pub user_key_id: String,
    /// The user's name (`""` when none).
    pub user_name: String,
    /// The served variation's id.
    pub variation_id: String,
    /// User key (analytics tag).
    #[serde(rename = "tag_0")]
    pub tag_0: String,
    /// Variation id (analytics tag).
    #[serde(rename = "tag_1")]
    pub tag_1: String,
    /// `"true"` / `"false"`: send-to-experiment (analytics tag).
    #[serde(rename = "tag_2")]
    pub tag_2: String,
    /// User name (analytics tag).
    #[serde(rename = "tag_3")]
    pub tag_3: String,
}

/// The `properties` of a custom metric, field order as FeatBit writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricProperties {
    /// The SDK's route, `index/metric`.
    pub route: String,
    /// The metric type, `CustomEvent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The metric's name.
    pub event_name: String,
    /// The value, a float32 as in FeatBit.
    pub numeric_value: f32,
    /// Who sent it.
    pub user: MetricUser,
    /// The SDK's `appType`.
    pub application_type: String,
    /// Always `""`.
    pub project_id: String,
    /// Environment.
    pub env_id: String,
    /// Always `""`.
    pub account_id: String,
    /// User key (analytics tag).
    #[serde(rename = "tag_0")]
    pub tag_0: String,
    /// The value as text (analytics tag).
    #[serde(rename = "tag_1")]
    pub tag_1: String,
    /// User name (analytics tag).
    #[serde(rename = "tag_2")]
    pub tag_2: String,
}

/// The user inside [`MetricProperties`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricUser {
    /// The user's key.
    pub key_id: String,
    /// The user's name (`""` when none).
    pub name: String,
}
