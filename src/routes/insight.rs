//! `POST /api/public/insight/track`: flag evaluations, custom metrics and users reported by SDKs (§3.3). The
//! answer is 200 only once the data is durable; 503 (retry) when it cannot be stored now.
//!
//! The body is parsed and checked against `[limits]` before any work ([`track_body::parse`]): items that do not
//! parse, have no `keyId`, exceed a limit or hold text the database cannot store are rejected and named in the
//! response, and the valid ones are kept (as FeatBit keeps them). A batch with no valid item, or over a body-wide
//! budget, is a 400: answering 400 to a mixed batch would make SDKs resend, and so duplicate, the valid part.

use actix_web::{HttpRequest, HttpResponse, web};
use opentelemetry::KeyValue;
use serde_json::json;
use vane_actors::experiment::insight_control::drop_muted_evaluations;
use vane_actors::ingest::IngestError;
use vane_actors::ingest::track_body::{self, Rejected};
use vane_actors::metrics::{attr, metrics};
use vane_actors::rate_limit::Policy;

use crate::error::ApiError;
use crate::routes::body::read_limited;
use crate::routes::sdk::limited_sdk_access;
use crate::startup::AppState;

/// Mounts the track endpoint (inside the CORS-enabled `/api/public` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/insight/track", web::post().to(track));
}

async fn track(req: HttpRequest, body: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let access = limited_sdk_access(&req, &state, Policy::Insights).await?;
    let body = read_limited(body, &state).await?;
    let parsed = track_body::parse(&body, &state.limits).inspect_err(|e| count_rejected("body", e.reason(), 1))?;
    drop(body);
    for rejected in &parsed.rejected {
        count_rejected("item", rejected.reason, 1);
    }
    if parsed.items.is_empty() && !parsed.rejected.is_empty() {
        let total = parsed.rejected.len();
        let first = &parsed.rejected[0].message;
        return Err(ApiError::bad_request("invalid_insights", format!("no valid insight in {total}: {first}")));
    }
    let accepted = parsed.items.len();
    let mut items = parsed.items;
    drop_muted_evaluations(&mut items, &*state.snapshot(access.env_id).await?);
    let outcome = state.ingest.track(access.env_id, items).await.map_err(unavailable)?;
    tracing::debug!(accepted, insights = outcome.insights, users = outcome.end_users, "track");
    if parsed.rejected.is_empty() {
        return Ok(HttpResponse::Ok().finish());
    }
    Ok(HttpResponse::Ok().json(json!({"accepted": accepted, "rejected": rejected_json(&parsed.rejected)})))
}

/// `[{index, error}]` for the response.
fn rejected_json(rejected: &[Rejected]) -> Vec<serde_json::Value> {
    rejected.iter().map(|r| json!({"index": r.index, "error": r.message})).collect()
}

fn count_rejected(kind: &'static str, reason: &'static str, n: u64) {
    metrics().ingest_rejected.add(n, &[KeyValue::new(attr::KIND, kind), KeyValue::new(attr::REASON, reason)]);
}

fn unavailable(e: IngestError) -> ApiError {
    metrics().ingest_unavailable.add(1, &[]);
    ApiError::Unavailable(e.into())
}
