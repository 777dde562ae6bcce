//! Messages → table rows: [`InsightMessage`] → `events`, [`EndUserMessage`] → `end_users`.
//!
//! Conversion happens once, before a row enters a writer's buffer, so retries never re-parse. Values that the
//! columns cannot hold are fixed or refused here, because one bad row inside a multi-row statement would fail the
//! whole batch: over-long names are cut to the column width, users whose key does not fit are refused.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use uuid::Uuid;
use vane_schema::entity::end_user;
use vane_schema::wire::message::{EndUserMessage, InsightMessage};
use vane_schema::wire::time::{now_ms, truncate_ms};

use crate::writer::sink::EventRow;

/// `end_users.key_id` is `varchar(512)`.
const KEY_ID_MAX: usize = 512;
/// `end_users.name` is `varchar(256)`.
const NAME_MAX: usize = 256;
/// `events.event` is `varchar(128)`.
const EVENT_MAX: usize = 128;

/// Why a message cannot become a row (logged and dropped: retrying would not help).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowError {
    /// `env_id` is not a UUID.
    #[error("env_id {0:?} is not a UUID")]
    EnvId(String),
    /// `properties` is not JSON.
    #[error("properties of insight {0} are not JSON")]
    Properties(Uuid),
    /// The user key does not fit `end_users.key_id`.
    #[error("keyId of {0} characters exceeds {KEY_ID_MAX}")]
    KeyTooLong(usize),
}

/// The `events` row of an insight: the uuid is the primary key, µs become ms, properties stay JSON text (checked,
/// not parsed).
pub fn event_row(msg: InsightMessage) -> Result<EventRow, RowError> {
    let env_id = Uuid::parse_str(&msg.env_id).map_err(|_| RowError::EnvId(msg.env_id.clone()))?;
    if serde_json::from_str::<&RawValue>(&msg.properties).is_err() {
        return Err(RowError::Properties(msg.uuid));
    }
    Ok(EventRow {
        id: msg.uuid,
        distinct_id: msg.distinct_id,
        env_id,
        event: truncate(msg.event, EVENT_MAX),
        properties: msg.properties,
        timestamp: from_micros(msg.timestamp),
    })
}

/// The `end_users` row of a sighting. `id` is fresh; on conflict the stored row keeps its own id.
pub fn end_user_row(msg: EndUserMessage) -> Result<end_user::Model, RowError> {
    let chars = msg.key_id.chars().count();
    if chars > KEY_ID_MAX {
        return Err(RowError::KeyTooLong(chars));
    }
    let seen = if msg.timestamp > 0 { from_millis(msg.timestamp) } else { now_ms() };
    Ok(end_user::Model {
        id: Uuid::new_v4(),
        env_id: msg.env_id,
        key_id: msg.key_id,
        name: truncate(msg.name, NAME_MAX),
        customized_properties: serde_json::to_value(&msg.customized_properties).unwrap_or_default(),
        created_at: seen,
        updated_at: seen,
    })
}

/// Unix µs → a millisecond-precision instant (the Unix epoch when out of range).
fn from_micros(us: i64) -> DateTime<Utc> {
    truncate_ms(DateTime::from_timestamp_micros(us).unwrap_or_default())
}

/// Unix ms → instant (the Unix epoch when out of range).
fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Cuts `s` to at most `max` characters (column widths count characters, not bytes).
fn truncate(mut s: String, max: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vane_schema::wire::EndUser;

    use super::*;
    use crate::ingest::build;

    const ENV: &str = "ad99d259-1f50-4ed9-a002-7c65e25487df";

    fn insight() -> InsightMessage {
        InsightMessage {
            uuid: Uuid::new_v4(),
            distinct_id: "checkout".into(),
            env_id: ENV.into(),
            event: "CustomEvent".into(),
            properties: r#"{"a":1}"#.into(),
            timestamp: 1_719_750_000_123_456,
        }
    }

    #[test]
    fn event_row_keeps_uuid_and_fields_and_stores_milliseconds() {
        let msg = insight();
        let row = event_row(msg.clone()).expect("converts");
        assert_eq!(row.id, msg.uuid);
        assert_eq!((row.distinct_id.as_str(), row.event.as_str()), ("checkout", "CustomEvent"));
        assert_eq!(row.env_id.to_string(), ENV);
        assert_eq!(row.properties, r#"{"a":1}"#);
        assert_eq!(row.timestamp.timestamp_millis(), 1_719_750_000_123);
        assert_eq!(row.timestamp.timestamp_subsec_micros() % 1000, 0, "truncated to ms");
    }

    #[test]
    fn event_row_refuses_bad_env_or_properties() {
        let msg = InsightMessage { env_id: "nope".into(), ..insight() };
        assert_eq!(event_row(msg), Err(RowError::EnvId("nope".into())));
        let msg = InsightMessage { properties: "{".into(), ..insight() };
        assert!(matches!(event_row(msg), Err(RowError::Properties(_))));
    }

    #[test]
    fn event_names_are_cut_to_the_column_width_by_characters() {
        let row = event_row(InsightMessage { event: "é".repeat(200), ..insight() }).expect("converts");
        assert_eq!(row.event.chars().count(), EVENT_MAX);
    }

    #[test]
    fn end_user_row_carries_name_properties_and_seen_time() {
        let user = EndUser { name: Some("Bob".into()), ..EndUser::with_key("u1").with_property("plan", "pro") };
        let env = Uuid::parse_str(ENV).expect("uuid");
        let row = end_user_row(build::end_user_message(env, &user, 1_700_000_000_123)).expect("converts");
        assert_eq!((row.env_id, row.key_id.as_str(), row.name.as_str()), (env, "u1", "Bob"));
        assert_eq!(row.customized_properties, json!([{"name": "plan", "value": "pro"}]));
        assert_eq!(
            (row.created_at.timestamp_millis(), row.updated_at.timestamp_millis()),
            (1_700_000_000_123, 1_700_000_000_123)
        );
    }

    #[test]
    fn end_user_row_refuses_oversized_keys_and_cuts_names() {
        let env = Uuid::new_v4();
        let long_key = EndUser::with_key("k".repeat(513));
        assert_eq!(end_user_row(build::end_user_message(env, &long_key, 1)), Err(RowError::KeyTooLong(513)));
        let long_name = EndUser { name: Some("n".repeat(300)), ..EndUser::with_key("k") };
        let row = end_user_row(build::end_user_message(env, &long_name, 1)).expect("converts");
        assert_eq!(row.name.len(), NAME_MAX);
    }

    #[test]
    fn end_user_row_without_timestamp_is_seen_now() {
        let msg =
            EndUserMessage { timestamp: 0, ..build::end_user_message(Uuid::new_v4(), &EndUser::with_key("k"), 0) };
        let row = end_user_row(msg).expect("converts");
        assert!((Utc::now() - row.updated_at).num_seconds() < 5);
    }
}
