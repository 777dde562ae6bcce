//! `PUT/GET/DELETE /api/v1/environments/{envId}/end-users/{keyId}`: the attributes a trusted backend stores for a
//! user. They are merged into every evaluation for that user (stored attributes win for the same name), and a
//! change reaches the user's open client sessions on every node at once.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
#[allow(unused_imports)] // named by the OpenAPI annotations
use vane_schema::wire::StoredAttributes;
use vane_schema::wire::{CustomizedProperty, EndUser};

use super::admin::{authorize, env_id};
use crate::error::{ApiError, ErrorBody};
use crate::routes::body::{json_body, read_limited};
use crate::startup::AppState;

/// Mounts the routes on the `/api/v1` scope.
pub fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/environments/{env}/end-users/{key}", web::put().to(put_end_user))
        .route("/environments/{env}/end-users/{key}", web::get().to(get_end_user))
        .route("/environments/{env}/end-users/{key}", web::delete().to(delete_end_user))
}

/// Body of `PUT …/end-users/{keyId}`: replaces every stored attribute of the user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndUserBody {
    /// Display name; absent leaves the name the SDK sends.
    #[serde(default)]
    name: Option<String>,
    /// `[{"name", "value"}]`; each replaces an SDK-sent attribute of the same name.
    #[schema(value_type = Vec<Object>)]
    customized_properties: Vec<CustomizedProperty>,
}

#[utoipa::path(put, path = "/api/v1/environments/{envId}/end-users/{keyId}", tag = "end users",
    params(("envId" = Uuid, Path), ("keyId" = String, Path)), request_body = EndUserBody,
    responses((status = 201, body = StoredAttributes), (status = 200, body = StoredAttributes), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_end_user(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    let body: EndUserBody = json_body(&read_limited(payload, &state).await?)?;
    let user = EndUser { key_id: key, name: body.name, customized_properties: body.customized_properties };
    state.limits.check_user(&user)?;
    let (stored, created) =
        state.admin.put_user(env_id(&env)?, &user.key_id, user.name, user.customized_properties).await?;
    Ok(if created { HttpResponse::Created().json(stored) } else { HttpResponse::Ok().json(stored) })
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/end-users/{keyId}", tag = "end users",
    params(("envId" = Uuid, Path), ("keyId" = String, Path)),
    responses((status = 200, description = "the stored attributes and when they were last set", body = StoredAttributes),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_end_user(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.admin.user(env_id(&env)?, &key).await?))
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}/end-users/{keyId}", tag = "end users",
    params(("envId" = Uuid, Path), ("keyId" = String, Path)),
    responses((status = 204, description = "stored attributes and end-user row forgotten; past insight events are kept"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_end_user(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, key) = path.into_inner();
    state.admin.delete_user(env_id(&env)?, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}
