//! Logs and traces: a console layer (text or JSON, with its own filter) and, when `telemetry.otlp_endpoint` is
//! set, an OpenTelemetry layer exporting spans over OTLP/gRPC with W3C trace-context propagation.
//!
//! The filters are per layer: a quiet console (`RUST_LOG=warn`) must not silence exported traces. JSON lines
//! carry the `trace_id` and `span_id` of their span ([`json`]).
//!
//! Metrics: [`metrics`] installs the meter provider (Prometheus text at `GET /metrics`, OTLP when configured);
//! [`http`] is the per-request middleware (server span and `http.server.request.duration`).

pub mod gauges;
pub mod http;
mod json;
pub mod metrics;

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::settings::{LogFormat, TelemetrySettings};

/// Keeps the trace exporter alive; call [`Telemetry::shutdown`] before exit to flush spans.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber. Must run inside the Tokio runtime (the OTLP exporter binds to it).
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    metrics::install(settings)?;
    let console_filter = EnvFilter::try_new(&settings.filter).context("telemetry.filter")?;
    let console = match settings.format {
        LogFormat::Text => fmt::layer().with_target(true).boxed(),
        LogFormat::Json => {
            fmt::layer().json().event_format(json::WithTraceIds(fmt::format().json().flatten_event(true))).boxed()
        }
    }
    .with_filter(console_filter);
    let provider = settings.otlp_endpoint.as_deref().map(|e| tracer_provider(e, &settings.service_name)).transpose()?;
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(settings.service_name.clone()))
            .with_filter(EnvFilter::new("info,sqlx=warn,sea_orm=warn,h2=warn,tonic=warn"))
    });
    tracing_subscriber::registry().with(console).with(otel).try_init().context("installing the tracing subscriber")?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Telemetry { provider })
}

fn tracer_provider(endpoint: &str, service: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = otlp_channel(opentelemetry_otlp::SpanExporter::builder().with_tonic(), endpoint)
        .build()
        .context("telemetry.otlp_endpoint")?;
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource(service)).build())
}

/// The gRPC channel settings both exporters share: endpoint, timeout, and for `https://` TLS verified against the
/// compiled-in WebPKI roots (the exporter's default TLS config has no roots, so every certificate would fail).
pub(crate) fn otlp_channel<B: WithExportConfig + WithTonicConfig>(builder: B, endpoint: &str) -> B {
    let builder = builder.with_endpoint(endpoint).with_timeout(Duration::from_secs(3));
    if endpoint.starts_with("https://") {
        builder.with_tls_config(ClientTlsConfig::new().with_enabled_roots())
    } else {
        builder
    }
}

/// What every exported span and metric says about its source: the service name and this process's
/// `service.instance.id` (random per start), which tells the nodes of a cluster apart in one trace.
pub(crate) fn resource(service: &str) -> Resource {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let instance = INSTANCE.get_or_init(|| uuid::Uuid::new_v4().to_string());
    Resource::builder()
        .with_service_name(service.to_owned())
        .with_attribute(opentelemetry::KeyValue::new("service.instance.id", instance.clone()))
        .build()
}

impl Telemetry {
    /// Flushes and stops the exporter. Runs off the actix thread: the exporter's worker lives on that runtime and
    /// a blocking shutdown there would wait for itself.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || {
            metrics::shutdown();
            if let Some(provider) = provider {
                let _ = provider.shutdown();
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_https_collector_is_accepted_at_start() {
        let provider = tracer_provider("https://collector.example.com:4317", "vane");
        assert!(provider.is_ok(), "{:?}", provider.err());
    }
}
