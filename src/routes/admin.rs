//! The management API (`/api/v1`, `Authorization: Bearer <admin token>`): environments, flags and segments in
//! FeatBit's JSON shapes. Every write is committed, cached and pushed to SDKs on every node.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[allow(unused_imports)] // named by the OpenAPI annotations
use vane_actors::admin::EnvironmentView;
#[allow(unused_imports)]
use vane_schema::wire::{FeatureFlag, Segment};

use crate::admin_auth::AdminAuthError;
use crate::error::{ApiError, ErrorBody};
use crate::routes::body::{json_body, read_limited};
use crate::startup::AppState;

/// Mounts `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::secrets::configure(super::users::configure(super::experiments::configure(super::reports::configure(
            web::scope("/api/v1"),
        ))))
        .route("/openapi.json", web::get().to(super::openapi::document))
        .route("/environments", web::post().to(create_environment))
        .route("/environments", web::get().to(list_environments))
        .route("/environments/{env}", web::get().to(get_environment))
        .route("/environments/{env}", web::delete().to(delete_environment))
        .route("/environments/{env}/feature-flags", web::get().to(list_flags))
        .route("/environments/{env}/feature-flags/{key}", web::get().to(get_flag))
        .route("/environments/{env}/feature-flags/{key}", web::put().to(put_flag))
        .route("/environments/{env}/feature-flags/{key}", web::patch().to(patch_flag))
        .route("/environments/{env}/feature-flags/{key}", web::delete().to(archive_flag))
        .route("/environments/{env}/segments", web::get().to(list_segments))
        .route("/environments/{env}/segments/{id}", web::get().to(get_segment))
        .route("/environments/{env}/segments/{id}", web::put().to(put_segment))
        .route("/environments/{env}/segments/{id}", web::delete().to(archive_segment)),
    );
}

/// Checks the bearer token against its hash (constant-time), failures counted per source address.
pub(crate) fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let given =
        req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let peer = req.peer_addr().map(|a| a.ip());
    match state.admin_auth.check(given, peer, std::time::Instant::now()) {
        Ok(()) => Ok(()),
        Err(AdminAuthError::Wrong) => Err(ApiError::Unauthorized("missing or wrong bearer token")),
        Err(AdminAuthError::Locked(wait)) => Err(ApiError::AdminLocked(wait)),
    }
}

pub(crate) fn env_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_request("invalid_id", format!("{raw:?} is not an environment id")))
}

async fn body(payload: web::Payload, state: &AppState) -> Result<Value, ApiError> {
    json_body(&read_limited(payload, state).await?)
}

/// Body of `POST /api/v1/environments`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewEnvironmentBody {
    /// Display name (defaults to the key).
    #[serde(default)]
    name: String,
    /// Unique key, `^[a-zA-Z0-9._-]{1,128}$`.
    key: String,
}

#[utoipa::path(post, path = "/api/v1/environments", tag = "environments", request_body = NewEnvironmentBody,
    responses((status = 201, body = EnvironmentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_environment(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let new: NewEnvironmentBody = json_body(&read_limited(payload, &state).await?)?;
    let env = state.admin.create_environment(new.name, new.key).await?;
    Ok(HttpResponse::Created().json(env))
}

#[utoipa::path(get, path = "/api/v1/environments", tag = "environments",
    responses((status = 200, body = [EnvironmentView]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn list_environments(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(state.admin.environments().await?))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}", tag = "environments", params(("envId" = Uuid, Path)),
    responses((status = 200, body = EnvironmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_environment(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(state.admin.environment(env_id(&path)?).await?))
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}", tag = "environments", params(("envId" = Uuid, Path)),
    responses((status = 204, description = "deleted with its flags and segments; its SDK sessions are closed"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_environment(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    state.admin.delete_environment(env_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/feature-flags", tag = "feature flags", params(("envId" = Uuid, Path)),
    responses((status = 200, body = [FeatureFlag]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn list_flags(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(state.admin.flags(env_id(&path)?).await?))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/feature-flags/{key}", tag = "feature flags",
    params(("envId" = Uuid, Path), ("key" = String, Path)),
    responses((status = 200, body = FeatureFlag), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_flag(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.flag(env_id(&env)?, &key).await?))
}

#[utoipa::path(put, path = "/api/v1/environments/{envId}/feature-flags/{key}", tag = "feature flags",
    params(("envId" = Uuid, Path), ("key" = String, Path)), request_body = FeatureFlag,
    responses((status = 201, body = FeatureFlag), (status = 200, body = FeatureFlag), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_flag(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    let (flag, created) = state.admin.put_flag(env_id(&env)?, &key, body(payload, &state).await?).await?;
    Ok(if created { HttpResponse::Created().json(flag) } else { HttpResponse::Ok().json(flag) })
}

#[utoipa::path(patch, path = "/api/v1/environments/{envId}/feature-flags/{key}", tag = "feature flags",
    params(("envId" = Uuid, Path), ("key" = String, Path)), request_body(content = Object, description = "top-level flag fields to change, e.g. {\"isEnabled\": false}"),
    responses((status = 200, body = FeatureFlag), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn patch_flag(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.patch_flag(env_id(&env)?, &key, body(payload, &state).await?).await?))
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}/feature-flags/{key}", tag = "feature flags",
    params(("envId" = Uuid, Path), ("key" = String, Path)),
    responses((status = 200, description = "archived (isArchived: true), pushed to SDKs", body = FeatureFlag), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn archive_flag(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.archive_flag(env_id(&env)?, &key).await?))
}

fn segment_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_request("invalid_id", format!("{raw:?} is not a segment id (UUID)")))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/segments", tag = "segments", params(("envId" = Uuid, Path)),
    responses((status = 200, body = [Segment]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn list_segments(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(state.admin.segments(env_id(&path)?).await?))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/segments/{segmentId}", tag = "segments",
    params(("envId" = Uuid, Path), ("segmentId" = Uuid, Path)),
    responses((status = 200, body = Segment), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_segment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.segment(env_id(&env)?, segment_id(&id)?).await?))
}

#[utoipa::path(put, path = "/api/v1/environments/{envId}/segments/{segmentId}", tag = "segments",
    params(("envId" = Uuid, Path), ("segmentId" = Uuid, Path)), request_body = Segment,
    responses((status = 201, body = Segment), (status = 200, body = Segment), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_segment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, id) = path.into_inner();
    let body = body(payload, &state).await?;
    let (segment, created) = state.admin.put_segment(env_id(&env)?, segment_id(&id)?, body).await?;
    Ok(if created { HttpResponse::Created().json(segment) } else { HttpResponse::Ok().json(segment) })
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}/segments/{segmentId}", tag = "segments",
    params(("envId" = Uuid, Path), ("segmentId" = Uuid, Path)),
    responses((status = 200, description = "archived, pushed to SDKs", body = Segment), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn archive_segment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.archive_segment(env_id(&env)?, segment_id(&id)?).await?))
}
