//! The process-wide OpenTelemetry meter provider: a Prometheus reader (read by `GET /metrics`) and, when
//! `telemetry.otlp_endpoint` is set, a periodic OTLP exporter.
//!
//! Installed once per process, before anything calls `vane_actors::metrics::metrics()` (whose instruments bind to
//! the provider in force when first used). The first caller decides: `main` installs it with the configured OTLP
//! exporter; an in-process test application installs the Prometheus-only provider.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prometheus::{Encoder as _, Registry, TextEncoder};

use crate::settings::TelemetrySettings;

/// How often the OTLP exporter pushes; Prometheus reads on scrape.
const OTLP_INTERVAL: Duration = Duration::from_secs(15);

/// The installed provider and the registry `/metrics` renders.
struct Installed {
    /// Shut down (flushing OTLP) on exit.
    provider: SdkMeterProvider,
    /// What the Prometheus reader fills on every gather.
    registry: Registry,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Installs the global meter provider unless one was installed already. Must run inside the Tokio runtime when
/// an OTLP endpoint is configured (the tonic exporter binds to it).
pub fn install(settings: &TelemetrySettings) -> anyhow::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let registry = Registry::new();
    let prometheus = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .context("building the Prometheus reader")?;
    let resource = super::resource(&settings.service_name);
    let mut builder = SdkMeterProvider::builder().with_reader(prometheus).with_resource(resource);
    if let Some(endpoint) = &settings.otlp_endpoint {
        let exporter = super::otlp_channel(opentelemetry_otlp::MetricExporter::builder().with_tonic(), endpoint)
            .build()
            .context("telemetry.otlp_endpoint (metrics)")?;
        builder = builder.with_reader(PeriodicReader::builder(exporter).with_interval(OTLP_INTERVAL).build());
    }
    let provider = builder.build();
    if INSTALLED.set(Installed { provider: provider.clone(), registry }).is_ok() {
        opentelemetry::global::set_meter_provider(provider);
    }
    Ok(())
}

/// Every metric in Prometheus text exposition format (empty before [`install`]).
pub fn render() -> String {
    let Some(installed) = INSTALLED.get() else { return String::new() };
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&installed.registry.gather(), &mut out) {
        tracing::warn!(error = %e, "encoding metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Flushes the OTLP exporter (a final push) and stops the readers. Blocking: call off the actix thread.
pub(super) fn shutdown() {
    if let Some(installed) = INSTALLED.get()
        && let Err(e) = installed.provider.shutdown()
    {
        tracing::debug!(error = %e, "meter provider shutdown");
    }
}
