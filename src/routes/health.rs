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

/// 503 `Unhealthy` when the database does not answer. A disconnected broker or cache only degrades the node (it
/// keeps serving SDKs from memory and the database, and catches up when they return), so it answers 200
/// `Degraded: …` rather than making a load balancer drop every node during a broker or Redis outage. Snapshots are
/// loaded before the server starts listening.
#[get("/health/readiness")]
async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return HttpResponse::ServiceUnavailable().content_type("text/plain").body("Unhealthy: database");
    }
    let mut degraded = Vec::new();
    if !state.bus_is_healthy() {
        degraded.push("bus");
    }
    if !state.cache.is_healthy().await {
        degraded.push("cache");
    }
    let ingest = state.ingest.status();
    if !ingest.database_ok || ingest.broker_connected == Some(false) {
        degraded.push("ingest");
    }
    let body = if degraded.is_empty() { "Healthy".to_owned() } else { format!("Degraded: {}", degraded.join(", ")) };
    HttpResponse::Ok().content_type("text/plain").body(body)
}
