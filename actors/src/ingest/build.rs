//! Pure translation of what SDKs send into the messages of featbit-protocol.md §6.3: an end user becomes an
//! [`EndUserMessage`], each evaluation with a variation and each custom metric becomes an [`InsightMessage`].
//!
//! No I/O, no clock and no dedupe here (the caller passes `now` and decides which users are new), so every field
//! can be unit-tested.
//!
//! An insight's `uuid` is not random: it is an MD5 name (a version-3 UUID) of the environment, the event's position
//! in the track body and its content. An SDK that got no 200 (broker down, connection cut before the confirm)
//! posts the same body again, which yields the same uuids, so the `events` primary key stores it once; two
//! identical events in one body still differ by position.

use md5::{Digest, Md5};
use uuid::{Builder, Uuid};
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

/// Where an event sits in a track body: the item's index, and the event's index within the item (evaluations
/// first, then metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Index of the item in the body.
    pub item: usize,
    /// Index of the event in the item.
    pub event: usize,
}

/// Every insight message of track item number `item_index`: one per evaluation whose `variation` is non-null,
/// then one per metric. The item's user must be valid (checked by the caller, which also skips items without
/// one).
pub fn insight_messages(env_id: Uuid, user: &EndUser, item: &Insight, item_index: usize) -> Vec<InsightMessage> {
    let env = env_id.hyphenated().to_string();
    let at = |event| Position { item: item_index, event };
    let evaluations = item.variations.iter().enumerate().filter_map(|(i, v)| flag_value_message(&env, user, v, at(i)));
    let offset = item.variations.len();
    let metrics = item.metrics.iter().enumerate().map(|(i, m)| metric_message(&env, user, m, at(offset + i)));
    evaluations.chain(metrics).collect()
}

/// A `FlagValue` event, or `None` when the SDK sent no variation.
pub fn flag_value_message(env_id: &str, user: &EndUser, v: &VariationInsight, at: Position) -> Option<InsightMessage> {
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
    Some(named(
        InsightMessage {
            uuid: Uuid::nil(),
            distinct_id: flag_id,
            env_id: env_id.to_owned(),
            event: FLAG_VALUE_EVENT.to_owned(),
            properties: encode(&properties),
            timestamp: micros(v.timestamp),
        },
        at,
    ))
}

/// A custom-metric event: `distinct_id` is the metric's name and `event` its type.
pub fn metric_message(env_id: &str, user: &EndUser, m: &MetricInsight, at: Position) -> InsightMessage {
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
    let message = InsightMessage {
        uuid: Uuid::nil(),
        distinct_id: m.event_name.clone(),
        env_id: env_id.to_owned(),
        event: m.kind.clone(),
        properties: encode(&properties),
        timestamp: micros(m.timestamp),
    };
    named(message, at)
}

/// Sets the uuid from the position and every other field (see the module docs). Fields are length-prefixed so
/// no two different messages hash the same input.
fn named(mut message: InsightMessage, at: Position) -> InsightMessage {
    let mut md5 = Md5::new();
    for part in [
        message.env_id.as_bytes(),
        &(at.item as u64).to_le_bytes(),
        &(at.event as u64).to_le_bytes(),
        message.event.as_bytes(),
        message.distinct_id.as_bytes(),
        message.properties.as_bytes(),
        &message.timestamp.to_le_bytes(),
    ] {
        md5.update((part.len() as u64).to_le_bytes());
        md5.update(part);
    }
    message.uuid = Builder::from_md5_bytes(md5.finalize().into()).into_uuid();
    message
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
