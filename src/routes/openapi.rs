//! `GET /api/v1/openapi.json`: the management API's OpenAPI 3 document, generated from the handlers' annotations
//! and the data types' derives, so it cannot drift from the code.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves the document (public: it describes the API, it grants nothing).
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
