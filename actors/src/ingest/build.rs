//! Pure translation of what SDKs send into the messages of featbit-protocol.md §6.3: an end user becomes an
//! [`EndUserMessage`], each evaluation with a variation and each custom metric becomes an [`InsightMessage`].
//!
//! No I/O, no clock and no dedupe here (the caller passes `now` and decides which users are new), so every field
//! can be unit-tested.

use uuid::Uuid;
use vane_schema::wire::message::{
    EndUserMessage, FLAG_VALUE_EVENT, FLAG_VALUE_ROUTE, FlagValueProperties, InsightMessage, MetricProperties,
    MetricUser,
};
use vane_schema::wire::{EndUser, Insight, MetricInsight, VariationInsight};

/// The end-user message for `user` seen in `env_id` at `now_ms`: a null name becomes `""` (§6.3).
pub fn end_user_message(env_id: Uuid, user: &EndUser, now_ms: i64) -> EndUserMessage {
    EndUserMessage {
        env_id,
        key_id: user.key_id.clone(),
        name: user.name.clone().unwrap_or_default(),
        customized_properties: user.customized_properties.clone(),
        timestamp: now_ms,
    }
}

/// Every insight message of one track item: one per evaluation whose `variation` is non-null, then one per metric.
/// The item's user must be valid (checked by the caller, which also skips items without one).
pub fn insight_messages(env_id: Uuid, user: &EndUser, item: &Insight) -> Vec<InsightMessage> {
    let env = env_id.hyphenated().to_string();
    let evaluations = item.variations.iter().filter_map(|v| flag_value_message(&env, user, v));
    let metrics = item.metrics.iter().map(|m| metric_message(&env, user, m));
    evaluations.chain(metrics).collect()
}

/// A `FlagValue` event, or `None` when the SDK sent no variation.
pub fn flag_value_message(env_id: &str, user: &EndUser, v: &VariationInsight) -> Option<InsightMessage> {
    let variation = v.variation.as_ref()?;
    let flag_id = format!("{env_id}-{}", v.feature_flag_key);
    let user_name = user.name.clone().unwrap_or_default();
    let properties = FlagValueProperties {
        route: FLAG_VALUE_ROUTE.to_owned(),
        flag_id: flag_id.clone(),
        env_id: env_id.to_owned(),
        account_id: String::new(),
        project_id: String::new(),
        feature_flag_key: v.feature_flag_key.clone(),
        send_to_experiment: v.send_to_experiment,
        user_key_id: user.key_id.clone(),
        user_name: user_name.clone(),
        variation_id: variation.id.clone(),
        tag_0: user.key_id.clone(),
        tag_1: variation.id.clone(),
        tag_2: v.send_to_experiment.to_string(),
        tag_3: user_name,
    };
    Some(InsightMessage {
        uuid: Uuid::new_v4(),
        distinct_id: flag_id,
        env_id: env_id.to_owned(),
        event: FLAG_VALUE_EVENT.to_owned(),
        properties: encode(&properties),
        timestamp: micros(v.timestamp),
    })
}

/// A custom-metric event: `distinct_id` is the metric's name and `event` its type.
pub fn metric_message(env_id: &str, user: &EndUser, m: &MetricInsight) -> InsightMessage {
    let user_name = user.name.clone().unwrap_or_default();
    // FeatBit holds the value as a float32; narrowing here makes the JSON number and the text tag agree with it.
    let value = m.numeric_value as f32;
    let properties = MetricProperties {
        route: m.route.clone(),
        kind: m.kind.clone(),
        event_name: m.event_name.clone(),
        numeric_value: value,
        user: MetricUser { key_id: user.key_id.clone(), name: user_name.clone() },
        application_type: m.app_type.clone(),
        project_id: String::new(),
        env_id: env_id.to_owned(),
        account_id: String::new(),
        tag_0: user.key_id.clone(),
        tag_1: value.to_string(),
        tag_2: user_name,
    };
    InsightMessage {
        uuid: Uuid::new_v4(),
        distinct_id: m.event_name.clone(),
        env_id: env_id.to_owned(),
        event: m.kind.clone(),
        properties: encode(&properties),
        timestamp: micros(m.timestamp),
    }
}

/// SDK milliseconds → message microseconds, saturating rather than wrapping on absurd input.
fn micros(ms: i64) -> i64 {
    ms.saturating_mul(1000)
}

/// Serializing these plain structs cannot fail (string keys, no maps with non-string keys).
fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests;
