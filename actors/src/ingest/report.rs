//! The read side of ingestion, for the management API: end users of an environment (searched and paged) and a
//! flag's evaluations per variation over a time window (what an experiment report starts from).
//!
//! Both work on Postgres and SQLite. The flag report reads the variation and user out of the stored `properties`
//! JSON, which needs the backend's own JSON operator, so it is the one hand-written statement here.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, Statement,
};
use serde::Serialize;
use uuid::Uuid;
use vane_schema::entity::end_user;
use vane_schema::wire::message::FLAG_VALUE_EVENT;

use crate::store::{Store, StoreError};

/// Largest page of end users.
pub const MAX_PAGE_SIZE: u64 = 1_000;

/// Which end users to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndUserQuery {
    /// Case-insensitive substring of `keyId` or `name`; blank lists everyone.
    pub search: Option<String>,
    /// Zero-based page.
    pub page: u64,
    /// Users per page (1 to [`MAX_PAGE_SIZE`]).
    pub page_size: u64,
}

/// One page of end users, most recently seen first.
#[derive(Debug, Clone, PartialEq)]
pub struct EndUserPage {
    /// Users matching the query, over all pages.
    pub total: u64,
    /// This page.
    pub items: Vec<end_user::Model>,
}

/// Evaluations of one variation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromQueryResult)]
#[serde(rename_all = "camelCase")]
pub struct VariationStats {
    /// The variation id.
    pub variation_id: String,
    /// Evaluation events.
    pub evaluations: i64,
    /// Distinct users among them.
    pub unique_users: i64,
}

/// A flag's evaluations in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagReport {
    /// Evaluation events.
    pub evaluations: i64,
    /// Distinct users evaluated.
    pub unique_users: i64,
    /// Per variation, by id.
    pub variations: Vec<VariationStats>,
}

/// Lists the end users of `env_id`, most recently seen first.
pub async fn end_users(store: &Store, env_id: Uuid, query: &EndUserQuery) -> Result<EndUserPage, StoreError> {
    let mut select = end_user::Entity::find().filter(end_user::Column::EnvId.eq(env_id));
    if let Some(search) = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        let matches =
            |column: end_user::Column| Func::lower(Expr::col(column)).like(LikeExpr::new(&pattern).escape('\\'));
        select =
            select.filter(Condition::any().add(matches(end_user::Column::KeyId)).add(matches(end_user::Column::Name)));
    }
    let pages = select
        .order_by_desc(end_user::Column::UpdatedAt)
        .order_by_desc(end_user::Column::Id)
        .paginate(store.connection(), query.page_size.clamp(1, MAX_PAGE_SIZE));
    let total = pages.num_items().await?;
    let items = pages.fetch_page(query.page).await?;
    Ok(EndUserPage { total, items })
}

/// Evaluations of flag `flag_key` in `env_id` with `from <= timestamp < to`, per variation.
pub async fn flag_report(
    store: &Store,
    env_id: Uuid,
    flag_key: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<FlagReport, StoreError> {
    let backend = store.backend();
    let distinct_id = format!("{}-{flag_key}", env_id.hyphenated());
    let values = [env_id.into(), FLAG_VALUE_EVENT.into(), distinct_id.into(), from.into(), to.into()];
    let (variation, user) = (json_text(backend, "variationId"), json_text(backend, "userKeyId"));
    let filter = placeholders(
        backend,
        "WHERE env_id = $1 AND event = $2 AND distinct_id = $3 AND timestamp >= $4 AND timestamp < $5",
    );
    let per_variation = format!(
        "SELECT {variation} AS variation_id, COUNT(*) AS evaluations, COUNT(DISTINCT {user}) AS unique_users \
         FROM events {filter} GROUP BY {variation} ORDER BY {variation}"
    );
    let variations =
        VariationStats::find_by_statement(Statement::from_sql_and_values(backend, per_variation, values.clone()))
            .all(store.connection())
            .await?;
    let users = format!("SELECT COUNT(DISTINCT {user}) AS n FROM events {filter}");
    let statement = Statement::from_sql_and_values(backend, users, values);
    let row = store.connection().query_one_raw(statement).await?;
    let unique_users = row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0);
    let evaluations = variations.iter().map(|v| v.evaluations).sum();
    Ok(FlagReport { evaluations, unique_users, variations })
}

/// The SQL reading text field `field` of `properties`.
pub(crate) fn json_text(backend: DbBackend, field: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("json_extract(properties, '$.{field}')"),
        _ => format!("(properties ->> '{field}')"),
    }
}

/// SQLite spells positional parameters `?NNN` (only ever applied to SQL without JSON paths, which contain `$`).
pub(crate) fn placeholders(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    }
}

/// Escapes `%`, `_` and `\` so a search matches them literally.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
