//! Per-request observation, mounted around the whole app: a server span (`otel.kind = server`, parented on the
//! caller's W3C `traceparent`) and `http.server.request.duration`.
//!
//! Both name the request by its route **template** (`/api/v1/environments/{env}`), never its path or query:
//! secrets and tokens travel there (`/streaming?token=…`).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use opentelemetry::KeyValue;
use opentelemetry::propagation::Extractor;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use vane_actors::metrics::{attr, metrics};

/// The route label of requests that matched no route (404s): one value, however many paths are probed.
const UNMATCHED: &str = "unmatched";

/// The middleware; mount with `actix_web::middleware::from_fn(observe)`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let span = tracing::info_span!(
        "HTTP request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
    let _ = span.set_parent(parent);
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    let labels = [
        KeyValue::new(attr::HTTP_ROUTE, route),
        KeyValue::new(attr::HTTP_METHOD, method),
        KeyValue::new(attr::HTTP_STATUS, i64::from(status)),
    ];
    metrics().http_request_duration.record(started.elapsed().as_secs_f64(), &labels);
    res
}

/// Reads W3C trace context from request headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
