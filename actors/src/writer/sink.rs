//! What a [`BatchWriter`](super::BatchWriter) writes and how: one multi-row `INSERT … ON CONFLICT` per batch,
//! built with SeaORM's `insert_many`, for the `events` and `end_users` tables.
//!
//! Storage is idempotent, which is what makes at-least-once delivery store each row once:
//! * `events` ignore a row whose `id` (the insight's uuid) is already stored;
//! * `end_users` upsert on `(env_id, key_id)`, taking name, properties and `updated_at` from the newer sighting
//!   only, so a late redelivery of an old sighting changes nothing.
//!
//! A statement may bind only so many parameters (SQLite 32,766, Postgres 65,535), so a batch larger than that is
//! split into chunks, executed in one transaction so the batch still commits or fails as a whole. On Postgres,
//! events take a faster path ([`postgres`]) that binds one array per column.

mod postgres;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, IntoActiveModel, QueryTrait, Statement,
    TransactionTrait,
};
use uuid::Uuid;
use vane_schema::entity::{end_user, event};

/// Bind parameters one SQLite statement may carry (the default limit since SQLite 3.32).
const SQLITE_MAX_BINDS: usize = 32_766;
/// Bind parameters one Postgres statement may carry (the wire protocol's 16-bit count).
const POSTGRES_MAX_BINDS: usize = 65_535;

/// A table a [`BatchWriter`](super::BatchWriter) writes to.
pub trait Sink: Unpin + 'static {
    /// One row, as buffered.
    type Row: Clone + std::fmt::Debug + Send + Unpin + 'static;
    /// Table name, for logs.
    const TABLE: &'static str;
    /// Bound parameters per row (the columns written).
    const COLUMNS: usize;

    /// The statements writing `rows` (one unless the bind limit forces chunks), conflict handling included.
    fn statements(backend: DbBackend, rows: &[Self::Row]) -> Vec<Statement>;

    /// Writes `rows` as one unit: by default the [`statements`](Sink::statements), in a transaction if several.
    fn write<'a>(db: &'a DatabaseConnection, rows: &'a [Self::Row]) -> impl Future<Output = Result<(), DbErr>> + 'a {
        execute(db, Self::statements(db.get_database_backend(), rows))
    }
}

/// One `events` row as buffered: like [`event::Model`], but `properties` stays the JSON text it arrived as
/// (checked to be JSON), so the Postgres path never parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The insight's uuid (primary key).
    pub id: Uuid,
    /// `<envId>-<flagKey>` or the metric name.
    pub distinct_id: String,
    /// Environment.
    pub env_id: Uuid,
    /// `FlagValue` or the metric type.
    pub event: String,
    /// The properties object, as JSON text.
    pub properties: String,
    /// When the SDK recorded it.
    pub timestamp: DateTime<Utc>,
}

impl EventRow {
    /// The SeaORM model (parses `properties`; text that is not JSON becomes `null`, and was refused earlier).
    pub fn to_model(&self) -> event::Model {
        event::Model {
            id: self.id,
            distinct_id: self.distinct_id.clone(),
            env_id: self.env_id,
            event: self.event.clone(),
            properties: serde_json::from_str(&self.properties).unwrap_or_default(),
            timestamp: self.timestamp,
        }
    }
}

/// The `events` table: insights, conflict-ignored on their uuid.
#[derive(Debug)]
pub struct Events;

/// The `end_users` table: users, upserted on `(env_id, key_id)` keeping the newest sighting.
#[derive(Debug)]
pub struct EndUsers;

// === impl Events ===

impl Sink for Events {
    type Row = EventRow;
    const TABLE: &'static str = "events";
    const COLUMNS: usize = 6;

    fn statements(backend: DbBackend, rows: &[Self::Row]) -> Vec<Statement> {
        chunks::<Self>(backend, rows)
            .map(|chunk| {
                let models = chunk.iter().map(|row| row.to_model().into_active_model());
                let conflict = OnConflict::column(event::Column::Id).do_nothing().to_owned();
                backend.build(event::Entity::insert_many(models).on_conflict(conflict).as_query())
            })
            .collect()
    }

    async fn write(db: &DatabaseConnection, rows: &[EventRow]) -> Result<(), DbErr> {
        match db.get_database_backend() {
            DbBackend::Postgres => postgres::insert_events(db.get_postgres_connection_pool(), rows).await,
            backend => execute(db, Self::statements(backend, rows)).await,
        }
    }
}

// === impl EndUsers ===

impl Sink for EndUsers {
    type Row = end_user::Model;
    const TABLE: &'static str = "end_users";
    const COLUMNS: usize = 7;

    fn statements(backend: DbBackend, rows: &[Self::Row]) -> Vec<Statement> {
        let rows = newest_per_user(rows);
        chunks::<Self>(backend, &rows)
            .map(|chunk| {
                let models = chunk.iter().cloned().map(IntoActiveModel::into_active_model);
                backend.build(end_user::Entity::insert_many(models).on_conflict(upsert_newest()).as_query())
            })
            .collect()
    }
}

/// `ON CONFLICT (env_id, key_id) DO UPDATE SET name, customized_properties, updated_at = excluded.…
/// WHERE end_users.updated_at <= excluded.updated_at`: the stored row keeps its id and `created_at`.
fn upsert_newest() -> OnConflict {
    use end_user::Column;
    OnConflict::columns([Column::EnvId, Column::KeyId])
        .update_columns([Column::Name, Column::CustomizedProperties, Column::UpdatedAt])
        .action_and_where(
            Expr::col((end_user::Entity, Column::UpdatedAt))
                .lte(Expr::col((Alias::new("excluded"), Column::UpdatedAt))),
        )
        .to_owned()
}

/// One row per `(env_id, key_id)`: the newest (the later one on a tie), with the earliest `created_at` of the
/// batch, sorted by key. Postgres refuses to update the same row twice in one statement; the sort gives
/// concurrent writers one lock order (no deadlocks).
fn newest_per_user(rows: &[end_user::Model]) -> Vec<end_user::Model> {
    let mut newest: BTreeMap<(uuid::Uuid, &str), end_user::Model> = BTreeMap::new();
    for row in rows {
        match newest.entry((row.env_id, row.key_id.as_str())) {
            Entry::Vacant(slot) => {
                slot.insert(row.clone());
            }
            Entry::Occupied(mut slot) => {
                let created_at = std::cmp::min(slot.get().created_at, row.created_at);
                if row.updated_at >= slot.get().updated_at {
                    slot.insert(row.clone());
                }
                slot.get_mut().created_at = created_at;
            }
        }
    }
    newest.into_values().collect()
}

/// Splits `rows` so no statement exceeds the backend's bind-parameter limit.
fn chunks<S: Sink>(backend: DbBackend, rows: &[S::Row]) -> std::slice::Chunks<'_, S::Row> {
    let limit = match backend {
        DbBackend::Sqlite => SQLITE_MAX_BINDS,
        _ => POSTGRES_MAX_BINDS,
    };
    rows.chunks((limit / S::COLUMNS).max(1))
}

/// Runs `statements`: a single one directly, several inside one transaction.
pub async fn execute(db: &DatabaseConnection, mut statements: Vec<Statement>) -> Result<(), DbErr> {
    if statements.len() <= 1 {
        if let Some(single) = statements.pop() {
            db.execute_raw(single).await?;
        }
        return Ok(());
    }
    let tx = db.begin().await?;
    for statement in statements {
        tx.execute_raw(statement).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn user(env: Uuid, key: &str, name: &str, at_ms: i64) -> end_user::Model {
        let at = Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default();
        end_user::Model {
            id: Uuid::new_v4(),
            env_id: env,
            key_id: key.into(),
            name: name.into(),
            customized_properties: json!([]),
            created_at: at,
            updated_at: at,
        }
    }

    fn event_row() -> EventRow {
        EventRow {
            id: Uuid::new_v4(),
            distinct_id: "d".into(),
            env_id: Uuid::new_v4(),
            event: "e".into(),
            properties: r#"{"a":[1]}"#.into(),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn event_rows_parse_their_properties_for_the_portable_path() {
        assert_eq!(event_row().to_model().properties, json!({"a": [1]}));
    }

    #[test]
    fn events_ignore_a_known_uuid() {
        let sql = Events::statements(DbBackend::Postgres, &[event_row(), event_row()]);
        assert_eq!(sql.len(), 1, "one statement per batch");
        assert!(sql[0].sql.starts_with(r#"INSERT INTO "events""#), "{}", sql[0].sql);
        assert!(sql[0].sql.ends_with(r#"ON CONFLICT ("id") DO NOTHING"#), "{}", sql[0].sql);
        assert_eq!(sql[0].values.as_ref().map(|v| v.0.len()), Some(12));
    }

    #[test]
    fn end_users_upsert_only_from_a_newer_sighting() {
        let env = Uuid::new_v4();
        let sql = EndUsers::statements(DbBackend::Sqlite, &[user(env, "u", "a", 1)]);
        let text = &sql[0].sql;
        assert!(text.contains(r#"ON CONFLICT ("env_id", "key_id") DO UPDATE SET"#), "{text}");
        assert!(text.contains(r#""name" = "excluded"."name""#), "{text}");
        assert!(text.contains(r#""updated_at" = "excluded"."updated_at""#), "{text}");
        assert!(text.contains(r#"WHERE "end_users"."updated_at" <= "excluded"."updated_at""#), "{text}");
        assert!(!text.contains(r#""created_at" = "excluded""#), "created_at is kept");
    }

    #[test]
    fn one_row_per_user_and_batch_keeps_the_newest_sorted_by_key() {
        let env = Uuid::new_v4();
        let rows =
            [user(env, "b", "old", 1), user(env, "a", "x", 5), user(env, "b", "new", 2), user(env, "b", "tie", 2)];
        let kept = newest_per_user(&rows);
        let names: Vec<(&str, &str)> = kept.iter().map(|r| (r.key_id.as_str(), r.name.as_str())).collect();
        assert_eq!(names, [("a", "x"), ("b", "tie")]);
        assert_eq!(kept[1].created_at.timestamp_millis(), 1, "earliest sighting of the batch");
    }

    #[test]
    fn batches_are_chunked_below_the_bind_limit() {
        let rows: Vec<_> = (0..6_000).map(|_| event_row()).collect();
        assert_eq!(Events::statements(DbBackend::Sqlite, &rows).len(), 2, "32766 / 6 = 5461 rows per statement");
        assert_eq!(Events::statements(DbBackend::Postgres, &rows).len(), 1, "65535 / 6 = 10922 rows per statement");
        assert!(Events::statements(DbBackend::Postgres, &[]).is_empty());
    }
}
