//! SDK polling (`GET /api/public/sdk/server/latest-all`, `POST /api/public/sdk/client/latest-all`) and the
//! server-side evaluation API (`POST /api/public/featureflag/evaluate`), answered from the node's snapshots.

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use vane_actors::access::SecretInfo;
use vane_actors::eval::EvalUser;
use vane_actors::rate_limit::Policy;
use vane_actors::snapshot::{EnvSnapshot, client_flag};
use vane_schema::secret::SecretType;
use vane_schema::wire::EndUser;

use crate::error::ApiError;
use crate::routes::body::{json_body, read_limited};
use crate::startup::AppState;

/// Mounts the polling and evaluation endpoints (inside the CORS-enabled `/api/public` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sdk/server/latest-all", web::get().to(server_latest_all))
        .route("/sdk/client/latest-all", web::post().to(client_latest_all))
        .route("/featureflag/evaluate", web::post().to(evaluate));
}

/// The stored secret in `Authorization` (no scheme, as FeatBit SDKs send it).
async fn sdk_access(req: &HttpRequest, state: &AppState) -> Result<SecretInfo, ApiError> {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    Ok(state.access.authorize_secret(header)?)
}

/// [`sdk_access`], then one request of `policy` counted for its environment (429 over the limit).
pub async fn limited_sdk_access(req: &HttpRequest, state: &AppState, policy: Policy) -> Result<SecretInfo, ApiError> {
    let access = sdk_access(req, state).await?;
    state.rate_limits.check(policy, access.env_id).await?;
    Ok(access)
}

fn timestamp(req: &HttpRequest) -> Result<i64, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    match pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case("timestamp")) {
        None => Ok(0),
        Some((_, v)) if v.is_empty() => Ok(0),
        Some((_, v)) => {
            v.parse().map_err(|_| ApiError::bad_request("invalid_timestamp", "timestamp must be an integer (Unix ms)"))
        }
    }
}

async fn server_latest_all(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let access = limited_sdk_access(&req, &state, Policy::Polling).await?;
    if access.kind != SecretType::Server {
        return Err(ApiError::Unauthorized("a server secret is required"));
    }
    let ts = timestamp(&req)?;
    let snapshot = state.snapshot(access.env_id).await?;
    if snapshot.is_unchanged_since(ts) {
        return Ok(HttpResponse::Ok().finish());
    }
    Ok(json_frame(snapshot.server_sync(ts)))
}

async fn client_latest_all(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let access = limited_sdk_access(&req, &state, Policy::Polling).await?;
    let body = read_limited(body, &state).await?;
    let ts = timestamp(&req)?;
    let user: EndUser = json_body(&body)?;
    state.limits.check_user(&user)?;
    let snapshot = state.snapshot(access.env_id).await?;
    if snapshot.has_no_flags_after(ts) {
        return Ok(HttpResponse::Ok().finish());
    }
    let user = state.merged_user(access.env_id, user).await?;
    Ok(json_frame(snapshot.client_sync(&user, ts)))
}

fn json_frame(frame: bytestring::ByteString) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(frame.into_bytes())
}

#[derive(Deserialize)]
struct EvaluateRequest {
    user: Option<EndUser>,
    #[serde(default)]
    filter: Option<EvaluateFilter>,
}

/// Sets, so a filter of many keys or tags costs one lookup per flag, not a scan.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EvaluateFilter {
    #[serde(default)]
    tag_filter_mode: Option<String>,
    #[serde(default)]
    tags: HashSet<String>,
    #[serde(default)]
    keys: HashSet<String>,
    #[serde(default)]
    timestamp: Option<i64>,
}

async fn evaluate(req: HttpRequest, body: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let access = limited_sdk_access(&req, &state, Policy::Polling).await?;
    let body = read_limited(body, &state).await?;
    let request: EvaluateRequest = json_body(&body)?;
    let user = request.user.unwrap_or_default();
    state.limits.check_user(&user)?;
    let filter = request.filter.unwrap_or_default();
    let all_tags = match filter.tag_filter_mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("and") => true,
        Some("or") => false,
        Some(_) => return Err(ApiError::bad_request("invalid_filter", "tagFilterMode must be \"and\" or \"or\"")),
    };
    let snapshot = state.snapshot(access.env_id).await?;
    let user = state.merged_user(access.env_id, user).await?;
    Ok(HttpResponse::Ok().json(evaluations(&snapshot, &user, &filter, all_tags)))
}

fn evaluations(
    snapshot: &Arc<EnvSnapshot>,
    user: &EndUser,
    filter: &EvaluateFilter,
    all_tags: bool,
) -> Vec<serde_json::Value> {
    let wanted = |f: &vane_schema::wire::FeatureFlag| {
        (filter.keys.is_empty() || filter.keys.contains(&f.key))
            && (filter.tags.is_empty() || tagged(f, filter, all_tags))
    };
    let since = filter.timestamp.unwrap_or(0);
    let user = EvalUser::new(user);
    snapshot
        .flags()
        .filter(|f| wanted(f.flag()) && (since == 0 || f.updated_ms() > since))
        .map(|f| {
            let c = client_flag(snapshot, f, &user);
            serde_json::json!({"key": c.id, "variation": {"id": c.variation_id, "type": c.variation_type,
                "value": c.variation, "matchReason": c.match_reason, "sendToExperiment": c.send_to_experiment}})
        })
        .collect()
}

/// Whether the flag carries all (`and`) or any (`or`) of the filter's tags, without scanning the filter's list.
fn tagged(flag: &vane_schema::wire::FeatureFlag, filter: &EvaluateFilter, all_tags: bool) -> bool {
    if all_tags {
        // Distinct filter tags cannot all be on a flag with fewer tags; otherwise at most (flag tags)² steps.
        filter.tags.len() <= flag.tags.len() && filter.tags.iter().all(|t| flag.tags.contains(t))
    } else {
        flag.tags.iter().any(|t| filter.tags.contains(t))
    }
}
