//! `/health/liveness` (the process answers), `/health/readiness` (a load balancer should route here) and
//! `/status` (what an operator wants to see at a glance, LD Relay's `/status`).
//!
//! Readiness answers from the monitor's last sample (`startup::health`), never waiting on a dependency.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::startup::AppState;

/// Mounts the health and status endpoints (anonymous, as in FeatBit: they reveal no flag or secret).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(liveness).service(readiness).service(status);
}

#[get("/health/liveness")]
async fn liveness() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("Healthy")
}

/// 503 while the node drains and, in cluster mode, once the change feed has been lost longer than
/// `bus.stale_after_seconds` (the node would serve stale flags). A database, cache or broker blip only degrades the
/// node: it keeps serving SDKs from its loaded snapshots, so it stays 200 (`"status": "degraded"`) rather than
/// letting a load balancer drop the whole fleet at once. The listener only opens once snapshots are loaded.
#[get("/health/readiness")]
async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    let verdict = state.health.readiness();
    let mut res = if verdict.ready { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    res.insert_header(("cache-control", "no-store")).json(verdict)
}

/// `/status` body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    version: &'static str,
    uptime_seconds: u64,
    readiness: &'static str,
    sessions: Sessions,
    environments: Vec<EnvStatus>,
}

#[derive(Default, Serialize)]
struct Sessions {
    server: usize,
    client: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvStatus {
    id: Uuid,
    sessions: Sessions,
    /// The newest `updatedAt` among the flags and segments this node holds: the last change it applied.
    last_change_applied: Option<DateTime<Utc>>,
}

#[get("/status")]
async fn status(state: web::Data<AppState>) -> HttpResponse {
    let counts = state.session_counts.snapshot();
    let mut total = Sessions::default();
    let mut environments: Vec<EnvStatus> = state
        .registry
        .env_ids()
        .into_iter()
        .map(|id| {
            let mut sessions = Sessions::default();
            for (_, kind, n) in counts.iter().filter(|(env, ..)| *env == id) {
                *sessions.of(*kind) += n;
                *total.of(*kind) += n;
            }
            let version = state.registry.get(id).map_or(0, |s| s.version());
            let last_change_applied = (version > 0).then(|| DateTime::from_timestamp_millis(version)).flatten();
            EnvStatus { id, sessions, last_change_applied }
        })
        .collect();
    environments.sort_by_key(|e| e.id);
    HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.health.started.elapsed().as_secs(),
        readiness: state.health.readiness().status,
        sessions: total,
        environments,
    })
}

impl Sessions {
    fn of(&mut self, kind: vane_schema::secret::SecretType) -> &mut usize {
        match kind {
            vane_schema::secret::SecretType::Server => &mut self.server,
            vane_schema::secret::SecretType::Client => &mut self.client,
        }
    }
}
