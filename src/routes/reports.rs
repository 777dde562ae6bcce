//! The read side of ingestion in the management API: end users of an environment, and one flag's evaluations
//! per variation over a window and as a time series per minute, hour or day (`from` inclusive, `to` exclusive;
//! ISO-8601 or Unix ms).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vane_actors::experiment::Experiments;
use vane_actors::experiment::series::Interval;
#[allow(unused_imports)] // named by the OpenAPI annotations
use vane_actors::experiment::series::Series;
use vane_actors::ingest::report::{self, EndUserQuery, MAX_PAGE_SIZE};
use vane_schema::wire::time::{from_unix_ms, millis, parse};

use super::admin::{authorize, env_id};
use crate::error::{ApiError, ErrorBody};
use crate::startup::AppState;

/// Query of the end-user list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct EndUserParams {
    /// Case-insensitive substring of `keyId` or `name`.
    search: Option<String>,
    /// Zero-based page (default 0).
    page: Option<u64>,
    /// Users per page, 1–1000 (default 50).
    page_size: Option<u64>,
}

/// One end user.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndUserView {
    key_id: String,
    name: String,
    customized_properties: serde_json::Value,
    #[serde(with = "millis")]
    created_at: DateTime<Utc>,
    #[serde(with = "millis")]
    updated_at: DateTime<Utc>,
}

/// A page of end users, most recently seen first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndUserPageView {
    total: u64,
    items: Vec<EndUserView>,
}

/// `GET /api/v1/environments/{envId}/end-users`
#[utoipa::path(get, path = "/api/v1/environments/{envId}/end-users", tag = "insights",
    params(("envId" = Uuid, Path), EndUserParams),
    responses((status = 200, body = EndUserPageView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_end_users(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<EndUserParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let env = env_id(&path)?;
    state.admin.environment(env).await?;
    let page_size = query.page_size.unwrap_or(50);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::bad_request("invalid_page_size", format!("pageSize must be 1 to {MAX_PAGE_SIZE}")));
    }
    let q = EndUserQuery { search: query.search.clone(), page: query.page.unwrap_or(0), page_size };
    let page = report::end_users(&state.store, env, &q).await?;
    let items = page
        .items
        .into_iter()
        .map(|u| EndUserView {
            key_id: u.key_id,
            name: u.name,
            customized_properties: u.customized_properties,
            created_at: u.created_at,
            updated_at: u.updated_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(EndUserPageView { total: page.total, items }))
}

/// Window of the flag report.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct WindowParams {
    /// Start (inclusive), ISO-8601 or Unix ms; default 24 h before `to`.
    from: Option<String>,
    /// End (exclusive), ISO-8601 or Unix ms; default now.
    to: Option<String>,
}

fn instant(raw: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    raw.parse::<i64>()
        .map(from_unix_ms)
        .or_else(|_| parse(raw))
        .map_err(|_| ApiError::bad_request("invalid_window", format!("{name} must be ISO-8601 or Unix ms")))
}

/// `GET /api/v1/environments/{envId}/insights/feature-flags/{key}`
#[utoipa::path(get, path = "/api/v1/environments/{envId}/insights/feature-flags/{key}", tag = "insights",
    params(("envId" = Uuid, Path), ("key" = String, Path), WindowParams),
    responses((status = 200, description = "evaluations and unique users per variation", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn flag_insights(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<WindowParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, key, (from, to)) = flag_window(&req, path, &query.from, &query.to, &state).await?;
    Ok(HttpResponse::Ok().json(report::flag_report(&state.store, env, &key, from, to).await?))
}

/// Window and bucket width of the evaluation series.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct SeriesParams {
    /// Start (inclusive), ISO-8601 or Unix ms; default 24 h before `to`.
    from: Option<String>,
    /// End (exclusive), ISO-8601 or Unix ms; default now.
    to: Option<String>,
    /// `minute`, `hour` (default) or `day`; buckets are aligned to UTC.
    interval: Option<String>,
}

/// The window of a query: `to` defaults to now, `from` to 24 hours before it.
fn window(from: Option<&str>, to: Option<&str>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = to.map(|t| instant(t, "to")).transpose()?.unwrap_or_else(Utc::now);
    let from = from.map(|f| instant(f, "from")).transpose()?.unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(ApiError::bad_request("invalid_window", "from must be before to"));
    }
    Ok((from, to))
}

fn interval(raw: Option<&str>) -> Result<Interval, ApiError> {
    match raw.unwrap_or("hour") {
        "minute" => Ok(Interval::Minute),
        "hour" => Ok(Interval::Hour),
        "day" => Ok(Interval::Day),
        other => {
            Err(ApiError::bad_request("invalid_interval", format!("interval {other:?} is not minute, hour or day")))
        }
    }
}

/// `GET /api/v1/environments/{envId}/insights/feature-flags/{key}/series`
#[utoipa::path(get, path = "/api/v1/environments/{envId}/insights/feature-flags/{key}/series", tag = "insights",
    params(("envId" = Uuid, Path), ("key" = String, Path), SeriesParams),
    responses((status = 200, description = "evaluations and unique users per variation per bucket", body = Series),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn flag_series(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<SeriesParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let interval = interval(query.interval.as_deref())?;
    let (env, key, (from, to)) = flag_window(&req, path, &query.from, &query.to, &state).await?;
    let series = Experiments::new(state.store.clone()).series(env, &key, from, to, interval).await?;
    Ok(HttpResponse::Ok().json(series))
}

/// The authorized environment, an existing flag's key and the query window shared by the flag reports.
async fn flag_window(
    req: &HttpRequest,
    path: web::Path<(String, String)>,
    from: &Option<String>,
    to: &Option<String>,
    state: &AppState,
) -> Result<(uuid::Uuid, String, (DateTime<Utc>, DateTime<Utc>)), ApiError> {
    authorize(req, state)?;
    let (env, key) = path.into_inner();
    let env = env_id(&env)?;
    let window = window(from.as_deref(), to.as_deref())?;
    state.admin.flag(env, &key).await?;
    Ok((env, key, window))
}

/// Mounts the report routes into the `/api/v1` scope.
pub fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/environments/{env}/end-users", web::get().to(list_end_users))
        .route("/environments/{env}/insights/feature-flags/{key}", web::get().to(flag_insights))
        .route("/environments/{env}/insights/feature-flags/{key}/series", web::get().to(flag_series))
}
