//! `GET /api/v1/openapi.json`: the management API's OpenAPI 3 document, generated from the handlers' annotations
//! and the data types' derives, so it cannot drift from the code.

use actix_web::HttpResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

use super::{admin, experiments, reports, secrets, users};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Vane management API", description = "Environments, feature flags, segments and experiments in FeatBit's JSON shapes. \
        Every write is pushed to connected SDKs on every node."),
    paths(
        admin::create_environment, admin::list_environments, admin::get_environment, admin::delete_environment,
        secrets::add_secret, secrets::revoke_secret,
        admin::list_flags, admin::get_flag, admin::put_flag, admin::patch_flag, admin::archive_flag,
        admin::list_segments, admin::get_segment, admin::put_segment, admin::archive_segment,
        reports::list_end_users, reports::flag_insights, reports::flag_series,
        experiments::create_experiment, experiments::list_experiments, experiments::get_experiment,
        experiments::put_experiment, experiments::delete_experiment, experiments::experiment_results,
        users::put_end_user, users::get_end_user, users::delete_end_user,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Adds the bearer scheme, and the responses every authenticated route shares.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten().filter(|o| o.security.is_some()) {
                add_auth_responses(operation);
            }
        }
    }
}

/// Every authenticated route can answer 401 (no or a wrong token) and 429 (too many failed attempts from this
/// address, with `Retry-After`); documented once here instead of on each handler.
fn add_auth_responses(operation: &mut Operation) {
    let error = |description: &str| {
        let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
        RefOr::T(Response::builder().description(description).content("application/json", body).build())
    };
    let responses = &mut operation.responses.responses;
    responses.entry("401".into()).or_insert_with(|| error("missing or wrong admin token"));
    responses
        .entry("429".into())
        .or_insert_with(|| error("too many failed authentications from this address; see Retry-After"));
}

/// Serves the document (public: it describes the API, it grants nothing).
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
