//! `POST /api/public/insight/track`: flag evaluations, custom metrics and users reported by SDKs (§3.3). The
//! answer is 200 only once the data is durable; 503 (retry) when it cannot be stored now.
//!
//! A batch is checked item by item: items that do not parse, or whose user has no `keyId`, are rejected and named
//! in the response, and the valid ones are kept (as FeatBit keeps them). Only a batch with no valid item is a 400:
//! answering 400 to a mixed batch would make SDKs resend, and so duplicate, the valid part.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use vane_actors::experiment::insight_control::drop_muted_evaluations;
use vane_schema::wire::Insight;

use crate::error::ApiError;
use crate::routes::body::{json_body, read_limited};
use crate::routes::sdk::sdk_access;
use crate::startup::AppState;

/// Mounts the track endpoint (inside the CORS-enabled `/api/public` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/insight/track", web::post().to(track));
}

async fn track(req: HttpRequest, body: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let access = sdk_access(&req, &state).await?;
    let body = read_limited(body, state.max_body_bytes).await?;
    let Value::Array(raw) = json_body::<Value>(&body)? else {
        return Err(ApiError::bad_request("invalid_body", "the body must be a JSON array of insights"));
    };
    let total = raw.len();
    let (mut items, rejected) = split(raw);
    if items.is_empty() && !rejected.is_empty() {
        let first = rejected.first().and_then(|r| r["error"].as_str()).unwrap_or_default().to_owned();
        return Err(ApiError::bad_request("invalid_insights", format!("no valid insight in {total}: {first}")));
    }
    let accepted = items.len();
    drop_muted_evaluations(&mut items, &*state.snapshot(access.env_id).await?);
    let outcome = state.ingest.track(access.env_id, items).await.map_err(|e| ApiError::Unavailable(e.into()))?;
    tracing::debug!(accepted, insights = outcome.insights, users = outcome.end_users, "track");
    if rejected.is_empty() {
        return Ok(HttpResponse::Ok().finish());
    }
    Ok(HttpResponse::Ok().json(json!({"accepted": accepted, "rejected": rejected})))
}

/// Valid insights, and `{index, error}` for each invalid one.
fn split(raw: Vec<Value>) -> (Vec<Insight>, Vec<Value>) {
    let mut items = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        match serde_json::from_value::<Insight>(value) {
            Ok(item) if item.user.as_ref().is_some_and(|u| u.is_valid()) => items.push(item),
            Ok(_) => rejected.push(json!({"index": index, "error": format!("item {index}: user.keyId is required")})),
            Err(e) => rejected.push(json!({"index": index, "error": format!("item {index}: {e}")})),
        }
    }
    (items, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_items_are_named_and_valid_ones_kept() {
        let (items, rejected) = split(vec![
            json!({"user": {"keyId": "u1"}, "variations": []}),
            json!({"user": {"name": "no key"}}),
            json!({"user": {"keyId": "u2"}, "metrics": "not a list"}),
            json!(42),
        ]);
        assert_eq!(items.len(), 1);
        let indexes: Vec<u64> = rejected.iter().filter_map(|r| r["index"].as_u64()).collect();
        assert_eq!(indexes, [1, 2, 3]);
        assert!(rejected[0]["error"].as_str().is_some_and(|e| e.contains("keyId")));
    }
}
