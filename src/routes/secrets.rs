//! Secret rotation (`/api/v1/environments/{envId}/secrets`), as FeatBit models it: an environment holds a list of
//! secrets; rotating is adding one, moving the apps to it, then revoking the old one. A revoked secret is refused
//! on every node (HTTP 401, streaming 4003) as soon as the change reaches it, and its sessions are closed.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use vane_schema::secret::SecretType;

use super::admin::{authorize, env_id};
use crate::error::{ApiError, ErrorBody};
use crate::routes::body::{json_body, read_limited};
use crate::startup::AppState;

/// Adds the routes to the `/api/v1` scope.
pub fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/environments/{env}/secrets", web::post().to(add_secret))
        .route("/environments/{env}/secrets/{value}", web::delete().to(revoke_secret))
}

/// Body of `POST /api/v1/environments/{envId}/secrets`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSecretBody {
    /// `server` or `client`.
    #[serde(rename = "type")]
    kind: SecretType,
}

/// A secret just added.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretView {
    /// `server` or `client`.
    #[serde(rename = "type")]
    kind: SecretType,
    /// The 44-character secret.
    value: String,
}

#[utoipa::path(post, path = "/api/v1/environments/{envId}/secrets", tag = "environments", params(("envId" = Uuid, Path)),
    request_body = NewSecretBody,
    responses((status = 201, body = SecretView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_secret(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let env = env_id(&path)?;
    let body: NewSecretBody = json_body(&read_limited(payload, &state).await?)?;
    let secret = state.admin.add_secret(env, body.kind).await?;
    Ok(HttpResponse::Created().json(SecretView { kind: secret.kind, value: secret.value }))
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}/secrets/{value}", tag = "environments",
    params(("envId" = Uuid, Path), ("value" = String, Path, description = "the secret to revoke")),
    responses((status = 204, description = "revoked on every node; sessions opened with it are closed with 4003"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the last secret of its type cannot be revoked", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_secret(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let (env, value) = path.into_inner();
    state.admin.revoke_secret(env_id(&env)?, &value).await?;
    Ok(HttpResponse::NoContent().finish())
}
