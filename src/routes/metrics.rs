//! `GET /metrics`: every instrument of the node in Prometheus text format (see README "Metrics"). Anonymous like
//! the health endpoints: labels are bounded and carry no secret, user or per-environment value.

use actix_web::{HttpResponse, get, web};

/// Mounts `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(scrape);
}

#[get("/metrics")]
async fn scrape() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::telemetry::metrics::render())
}
