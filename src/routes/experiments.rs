//! Experiments in the management API (`/api/v1/environments/{envId}/experiments`): create, list, read, replace,
//! delete, and the results of each (A/B/n statistics per metric and variation).

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;
use vane_actors::experiment::Experiments;
#[allow(unused_imports)] // named by the OpenAPI annotations
use vane_actors::experiment::model::{ExperimentInput, ExperimentView};
#[allow(unused_imports)]
use vane_actors::experiment::results::ExperimentResults;

use super::admin::{authorize, env_id};
use crate::error::{ApiError, ErrorBody};
use crate::routes::body::{json_body, read_limited};
use crate::startup::AppState;

/// Mounts the experiment routes into the `/api/v1` scope.
pub fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/environments/{env}/experiments", web::post().to(create_experiment))
        .route("/environments/{env}/experiments", web::get().to(list_experiments))
        .route("/environments/{env}/experiments/{id}", web::get().to(get_experiment))
        .route("/environments/{env}/experiments/{id}", web::put().to(put_experiment))
        .route("/environments/{env}/experiments/{id}", web::delete().to(delete_experiment))
        .route("/environments/{env}/experiments/{id}/results", web::get().to(experiment_results))
}

/// Authorizes, parses the environment id and checks that it exists.
async fn environment(req: &HttpRequest, state: &AppState, raw: &str) -> Result<(Uuid, Experiments), ApiError> {
    authorize(req, state)?;
    let env = env_id(raw)?;
    state.admin.environment(env).await?;
    Ok((env, Experiments::new(state.store.clone())))
}

fn experiment_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_request("invalid_id", format!("{raw:?} is not an experiment id")))
}

async fn input(payload: web::Payload, state: &AppState) -> Result<ExperimentInput, ApiError> {
    json_body(&read_limited(payload, state).await?)
}

#[utoipa::path(post, path = "/api/v1/environments/{envId}/experiments", tag = "experiments",
    params(("envId" = Uuid, Path)), request_body = ExperimentInput,
    responses((status = 201, body = ExperimentView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_experiment(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, experiments) = environment(&req, &state, &path).await?;
    let created = experiments.create(env, input(payload, &state).await?).await?;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/experiments", tag = "experiments",
    params(("envId" = Uuid, Path)),
    responses((status = 200, description = "newest first", body = [ExperimentView]), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_experiments(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, experiments) = environment(&req, &state, &path).await?;
    Ok(HttpResponse::Ok().json(experiments.list(env).await?))
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/experiments/{id}", tag = "experiments",
    params(("envId" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = ExperimentView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_experiment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, id) = path.into_inner();
    let (env, experiments) = environment(&req, &state, &env).await?;
    Ok(HttpResponse::Ok().json(experiments.get(env, experiment_id(&id)?).await?))
}

#[utoipa::path(put, path = "/api/v1/environments/{envId}/experiments/{id}", tag = "experiments",
    params(("envId" = Uuid, Path), ("id" = Uuid, Path)), request_body = ExperimentInput,
    responses((status = 200, description = "the definition replaced", body = ExperimentView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_experiment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, id) = path.into_inner();
    let (env, experiments) = environment(&req, &state, &env).await?;
    let id = experiment_id(&id)?;
    Ok(HttpResponse::Ok().json(experiments.update(env, id, input(payload, &state).await?).await?))
}

#[utoipa::path(delete, path = "/api/v1/environments/{envId}/experiments/{id}", tag = "experiments",
    params(("envId" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 204, description = "deleted (the events stay)"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_experiment(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, id) = path.into_inner();
    let (env, experiments) = environment(&req, &state, &env).await?;
    experiments.delete(env, experiment_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/environments/{envId}/experiments/{id}/results", tag = "experiments",
    params(("envId" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = ExperimentResults), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn experiment_results(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (env, id) = path.into_inner();
    let (env, experiments) = environment(&req, &state, &env).await?;
    let id = experiment_id(&id)?;
    let experiment = experiments.get(env, id).await?;
    let flag = state.store.flag_by_key(env, &experiment.flag_key).await?;
    let variations: Vec<String> = flag.map(|f| f.variations.into_iter().map(|v| v.id).collect()).unwrap_or_default();
    Ok(HttpResponse::Ok().json(experiments.results(env, id, &variations).await?))
}
