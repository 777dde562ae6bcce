//! `GET /streaming?type=server|client&token=…`: the SDK WebSocket. The upgrade is always accepted first; an invalid
//! request is then closed with 4003 (SDKs stop), an unavailable store with 1011 (SDKs retry), as FeatBit does.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason};
use vane_actors::access::{AccessError, SecretInfo, StreamParams};
use vane_actors::metrics::{attr, label, metrics};
use vane_actors::rate_limit::Policy;
use vane_actors::session::protocol::close;
use vane_actors::session::{SdkSession, SessionSlot};
use vane_schema::wire::time::{now_ms, unix_ms};

use crate::error::ApiError;
use crate::startup::AppState;

/// Mounts `/streaming` and anything below it (FeatBit matches the path prefix).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/streaming", "/streaming/{tail:.*}"]).route(web::get().to(open_sdk_stream)));
}

async fn open_sdk_stream(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if !req.headers().get("upgrade").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket")) {
        return Err(ApiError::bad_request("websocket_required", "/streaming needs a WebSocket upgrade").into());
    }
    let params = stream_params(req.query_string());
    let (response, ws, stream) = actix_ws::handle(&req, body)?;
    let max = state.max_frame_bytes;
    let stream = stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        match state.access.authorize_stream(&params, unix_ms(&now_ms())) {
            Ok(access) => match admit(&state, access).await {
                Ok(slot) => drop(SdkSession::start((access, slot), ws, stream, state.session_deps.clone())),
                Err(why) => {
                    tracing::debug!(why, env = %access.env_id, "streaming connect over a limit");
                    let _ = ws.close(Some(reason(close::TRY_AGAIN_LATER, "try again later, close by server"))).await;
                }
            },
            Err(AccessError::Invalid(why)) => {
                tracing::info!(why, "streaming request refused");
                let _ = ws.close(Some(reason(close::INVALID_REQUEST, "invalid request, close by server"))).await;
            }
        }
    });
    Ok(response)
}

/// The streaming connect rate limit, then a place under the session caps; `Err` names what refused it (counted in
/// `vane.rate_limited`), and the socket is closed with 1013 so the SDK reconnects later.
async fn admit(state: &AppState, access: SecretInfo) -> Result<SessionSlot, &'static str> {
    if state.rate_limits.check(Policy::Streaming, access.env_id).await.is_err() {
        return Err(Policy::Streaming.as_str());
    }
    let deps = &state.session_deps;
    deps.counts.try_open(access.env_id, access.kind, deps.config.caps).map_err(|cap| {
        metrics().rate_limited.add(1, &label(attr::POLICY, cap.as_str()));
        cap.as_str()
    })
}

fn reason(code: u16, description: &str) -> CloseReason {
    CloseReason { code: CloseCode::from(code), description: Some(description.to_owned()) }
}

/// `type`, `version` and `token`, with keys matched case-insensitively as ASP.NET does.
fn stream_params(query: &str) -> StreamParams {
    let mut params = StreamParams::default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_str() {
            "type" => params.kind = Some(value),
            "version" => params.version = Some(value),
            "token" => params.token = Some(value),
            _ => {}
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_are_case_insensitive_and_order_free() {
        let p = stream_params("token=abc&TYPE=server");
        assert_eq!((p.kind.as_deref(), p.token.as_deref(), p.version), (Some("server"), Some("abc"), None));
        let p = stream_params("type=client&token=x&Version=2");
        assert_eq!(p.version.as_deref(), Some("2"));
        assert!(stream_params("%%%").kind.is_none());
    }
}
