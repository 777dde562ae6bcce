//! Insight batches SDKs post to `/api/public/insight/track` (featbit-protocol.md §3.3).

use serde::{Deserialize, Serialize};

use super::de::{lenient_bool, lenient_f64, lenient_i64, null_as_default};
use super::user::EndUser;

/// One item of a track body: a user with the flag evaluations and custom metrics recorded for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Insight {
    /// The user; items without a usable user are skipped (as FeatBit does).
    #[serde(default)]
    pub user: Option<EndUser>,
    /// Flag evaluation events.
    #[serde(default, deserialize_with = "null_as_default")]
    pub variations: Vec<VariationInsight>,
    /// Custom metric events.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metrics: Vec<MetricInsight>,
}

/// A flag evaluation an SDK observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VariationInsight {
    /// The evaluated flag.
    #[serde(default, deserialize_with = "null_as_default")]
    pub feature_flag_key: String,
    /// The served variation; `null` items are dropped.
    #[serde(default)]
    pub variation: Option<InsightVariation>,
    /// Whether this evaluation counts for experiments (python omits it).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub send_to_experiment: bool,
    /// Unix milliseconds.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub timestamp: i64,
}

/// The variation inside an evaluation event (python adds a `reason`, ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InsightVariation {
    /// Variation id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Variation value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

/// A custom metric event (`track`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MetricInsight {
    /// SDK route, `index/metric`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub route: String,
    /// Metric type, `CustomEvent`.
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// The metric's name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_name: String,
    /// Numeric value (a float32 in FeatBit).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub numeric_value: f64,
    /// Which SDK sent it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub app_type: String,
    /// Unix milliseconds.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub timestamp: i64,
}
