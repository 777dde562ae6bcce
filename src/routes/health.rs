//! `/health/liveness` (the process answers) and `/health/readiness` (the node can serve: its dependencies answer).

use actix_web::{HttpResponse, get, web};

use crate::startup::AppState;

/// Mounts the health endpoints (anonymous, as in FeatBit).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(liveness).service(readiness);
}

#[get("/health/liveness")]
async fn liveness() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("Healthy")
}

#[get("/health/readiness")]
async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("Healthy"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body("Unhealthy")
        }
    }
}
