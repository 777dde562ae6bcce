//! The node's metric instruments, recorded through the OpenTelemetry metrics API.
//!
//! One process-wide [`Metrics`] holds every instrument, created on first use from the global meter provider, so
//! the server crate must install its provider (Prometheus reader for `GET /metrics`, OTLP when configured)
//! **before** anything calls [`metrics()`]; instruments created from the default no-op provider stay no-ops.
//!
//! Naming follows OpenTelemetry semantic conventions where one exists, the `vane.` namespace otherwise; every
//! instrument declares its unit, so the Prometheus names end in `_seconds`, `_total`, … Labels stay bounded: no
//! per-user, per-token or per-session label, and no per-environment label.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};

/// Buckets (seconds) for latencies measured in micro- to milliseconds: syncs, pushes, flushes.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Buckets (seconds) for change lag, which spans a millisecond push to a minute-long catch-up.
const LAG_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Buckets (rows) for writer batch sizes.
const BATCH_BUCKETS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];

/// Every instrument of the node. Attribute keys are the constants in [`attr`].
pub struct Metrics {
    /// `vane.sessions`: open SDK sessions, by `sdk_type`.
    pub sessions: UpDownCounter<i64>,
    /// `vane.session.connects`: sessions accepted, by `sdk_type`.
    pub session_connects: Counter<u64>,
    /// `vane.session.closes`: sessions ended, by `close_code` (the WebSocket close code sent or received).
    pub session_closes: Counter<u64>,
    /// `vane.data_sync.duration`: from the SDK's `data-sync` frame to the reply written, by `event_type`.
    pub data_sync_duration: Histogram<f64>,
    /// `vane.push.duration`: from a change applied on this node to the frame written to a session.
    pub push_duration: Histogram<f64>,
    /// `vane.push.frames`: frames pushed to sessions after changes.
    pub push_frames: Counter<u64>,
    /// `vane.push.evictions`: sessions closed with 1013 because they could not take their pushes.
    pub push_evictions: Counter<u64>,
    /// `vane.change.lag`: from a change's commit (`updatedAt`) to its application here, by `source`.
    pub change_lag: Histogram<f64>,
    /// `vane.catch_up.runs`: catch-up passes from the database, by `outcome`.
    pub catch_up_runs: Counter<u64>,
    /// `vane.ingest.accepted`: track items durably accepted, by `kind` (event | user).
    pub ingest_accepted: Counter<u64>,
    /// `vane.ingest.rejected`: track items rejected at intake, by `kind` and `reason`.
    pub ingest_rejected: Counter<u64>,
    /// `vane.ingest.sightings`: users of client data-syncs handed to the end-user flow (repeats are not).
    pub sightings: Counter<u64>,
    /// `vane.ingest.unavailable`: track requests answered 503.
    pub ingest_unavailable: Counter<u64>,
    /// `vane.writer.buffered`: rows held by writers, not yet committed, by `kind`.
    pub writer_buffered: UpDownCounter<i64>,
    /// `vane.writer.batch.size`: rows per committed batch, by `kind`.
    pub writer_batch_size: Histogram<f64>,
    /// `vane.writer.flush.duration`: one batch commit, by `kind` and `outcome`.
    pub writer_flush_duration: Histogram<f64>,
    /// `vane.writer.retries`: batch commits retried, by `kind`.
    pub writer_retries: Counter<u64>,
    /// `vane.ingest.dead_lettered`: broker messages that could not be decoded, sent to the dead-letter queue.
    pub dead_lettered: Counter<u64>,
    /// `vane.cache.fallbacks`: reads that went to the database because the cache failed.
    pub cache_fallbacks: Counter<u64>,
    /// `vane.rate_limited`: requests or connects refused by a rate limit or cap, by `policy`.
    pub rate_limited: Counter<u64>,
    /// `vane.secret.lookups`: SDK secrets checked, by `source`: `memory` (answered from the secret index) or
    /// `store` (unknown here, its environment re-read from the database in the background).
    pub secret_lookups: Counter<u64>,
    /// `vane.access.rejected`: SDK secrets or tokens refused, by `reason`.
    pub access_rejected: Counter<u64>,
    /// `vane.ingest.insights_dropped`: evaluation events dropped at intake (their flag has
    /// `insightsEnabled: false`).
    pub insights_dropped: Counter<u64>,
    /// `vane.events.purged`: `events` rows deleted by retention (`ingest.retention_days`).
    pub events_purged: Counter<u64>,
    /// `http.server.request.duration` (semantic convention): by `http.route` (the route template, never the raw
    /// path or query: secrets travel there), `http.request.method` and `http.response.status_code`.
    pub http_request_duration: Histogram<f64>,
    /// `vane.session.going_away`: sessions closed with 1001 by a drain or `streaming.max_connection_age_seconds`,
    /// by `reason` (`drain` | `max_age`).
    pub going_away: Counter<u64>,
}

/// Attribute keys shared by the instruments above.
pub mod attr {
    /// `server` | `client`.
    pub const SDK_TYPE: &str = "sdk_type";
    /// A WebSocket close code, as a number.
    pub const CLOSE_CODE: &str = "close_code";
    /// `full` | `patch`.
    pub const EVENT_TYPE: &str = "event_type";
    /// `bus` | `catch-up` (change lag); `memory` | `store` (secret lookups).
    pub const SOURCE: &str = "source";
    /// `event` | `user`.
    pub const KIND: &str = "kind";
    /// A short, fixed reason string.
    pub const REASON: &str = "reason";
    /// `ok` | `error`.
    pub const OUTCOME: &str = "outcome";
    /// A rate-limit or cap policy name.
    pub const POLICY: &str = "policy";
    /// The matched route template (`/api/v1/environments/{env}`), or `unmatched`.
    pub const HTTP_ROUTE: &str = "http.route";
    /// The request method.
    pub const HTTP_METHOD: &str = "http.request.method";
    /// The response status code, as a number.
    pub const HTTP_STATUS: &str = "http.response.status_code";
}

/// The process-wide instruments (created on first call, from the then-installed global provider).
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new(&opentelemetry::global::meter("vane")))
}

/// A one-attribute label set, the common case.
pub fn label(key: &'static str, value: impl Into<opentelemetry::Value>) -> [KeyValue; 1] {
    [KeyValue::new(key, value)]
}

// === impl Metrics ===

impl Metrics {
    fn new(m: &Meter) -> Self {
        Self {
            sessions: m.i64_up_down_counter("vane.sessions").with_unit("{session}").build(),
            session_connects: counter(m, "vane.session.connects", "{session}"),
            session_closes: counter(m, "vane.session.closes", "{session}"),
            data_sync_duration: seconds(m, "vane.data_sync.duration", LATENCY_BUCKETS),
            push_duration: seconds(m, "vane.push.duration", LATENCY_BUCKETS),
            push_frames: counter(m, "vane.push.frames", "{frame}"),
            push_evictions: counter(m, "vane.push.evictions", "{session}"),
            change_lag: seconds(m, "vane.change.lag", LAG_BUCKETS),
            catch_up_runs: counter(m, "vane.catch_up.runs", "{run}"),
            ingest_accepted: counter(m, "vane.ingest.accepted", "{item}"),
            ingest_rejected: counter(m, "vane.ingest.rejected", "{item}"),
            sightings: counter(m, "vane.ingest.sightings", "{user}"),
            ingest_unavailable: counter(m, "vane.ingest.unavailable", "{request}"),
            writer_buffered: m.i64_up_down_counter("vane.writer.buffered").with_unit("{row}").build(),
            writer_batch_size: m
                .f64_histogram("vane.writer.batch.size")
                .with_unit("{row}")
                .with_boundaries(BATCH_BUCKETS.to_vec())
                .build(),
            writer_flush_duration: seconds(m, "vane.writer.flush.duration", LATENCY_BUCKETS),
            writer_retries: counter(m, "vane.writer.retries", "{batch}"),
            dead_lettered: counter(m, "vane.ingest.dead_lettered", "{message}"),
            cache_fallbacks: counter(m, "vane.cache.fallbacks", "{read}"),
            rate_limited: counter(m, "vane.rate_limited", "{request}"),
            secret_lookups: counter(m, "vane.secret.lookups", "{lookup}"),
            access_rejected: counter(m, "vane.access.rejected", "{request}"),
            insights_dropped: counter(m, "vane.ingest.insights_dropped", "{event}"),
            events_purged: counter(m, "vane.events.purged", "{row}"),
            http_request_duration: seconds(m, "http.server.request.duration", LATENCY_BUCKETS),
            going_away: counter(m, "vane.session.going_away", "{session}"),
        }
    }
}

fn counter(m: &Meter, name: &'static str, unit: &'static str) -> Counter<u64> {
    m.u64_counter(name).with_unit(unit).build()
}

fn seconds(m: &Meter, name: &'static str, buckets: &[f64]) -> Histogram<f64> {
    m.f64_histogram(name).with_unit("s").with_boundaries(buckets.to_vec()).build()
}
