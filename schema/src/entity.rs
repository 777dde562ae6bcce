//! SeaORM entities: the tables Vane stores on Postgres (cluster) and SQLite (embedded).
//!
//! Names follow FeatBit's Postgres schema (featbit-protocol.md §7) where they fit. Differences, and why:
//! * JSON columns replace Postgres arrays (`tags`, `included`, `excluded`) so one schema runs on SQLite too;
//! * there are no organization, project or workspace tables: an environment is the unit of tenancy here, so
//!   `segments.workspace_id`/`scopes`/`type` and `end_users.workspace_id` are dropped (every segment is
//!   environment-specific);
//! * `events.timestamp` is `timestamptz` and `events.env_id` a UUID, to index and range-scan them the same way on
//!   both databases;
//! * `server_settings` is Vane's own key/value table (the generated admin token lives there);
//! * `user_attributes` is Vane's own too: attributes a trusted backend stored for a user (issue 15).

pub mod end_user;
pub mod environment;
pub mod event;
pub mod experiment;
pub mod feature_flag;
pub mod segment;
pub mod server_setting;
pub mod user_attribute;

/// A JSON column value (serializing the wire types cannot fail; `null` is the fallback).
fn json<T: serde::Serialize>(v: &T) -> sea_orm::prelude::Json {
    serde_json::to_value(v).unwrap_or_default()
}

/// Reads a JSON column written by [`json`]; a malformed value reads as empty rather than failing the whole row.
fn from_json<T: serde::de::DeserializeOwned + Default>(v: &sea_orm::prelude::Json) -> T {
    T::deserialize(v).unwrap_or_default()
}
