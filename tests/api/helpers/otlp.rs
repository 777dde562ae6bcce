//! An OTLP/gRPC trace receiver inside the test: a tonic server implementing the collector's `TraceService` on a
//! free port, keeping every span it is sent. Nodes export to it with `VANE__TELEMETRY__OTLP_ENDPOINT`.
//!
//! Metrics exports to the same endpoint are answered `Unimplemented` (the node logs it and carries on).

use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tokio_stream::wrappers::TcpListenerStream;

/// One received span, with ids in lowercase hex as in `traceparent`.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The exporting process's `service.instance.id`.
    pub instance: String,
    /// The span name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// Attributes, values as text.
    pub attributes: Vec<(String, String)>,
    /// Trace ids of the span's links.
    pub links: Vec<String>,
}

impl ReceivedSpan {
    /// The attribute `key` as text.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The receiver; it serves until the test's runtime ends.
pub struct OtlpReceiver {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

impl OtlpReceiver {
    /// Binds a free port and serves on the current runtime.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Binds `addr` and serves on the current runtime.
    pub async fn start_on(addr: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let spans = Arc::new(Mutex::new(Vec::new()));
        let service = TraceServiceServer::new(Collector(spans.clone()));
        tokio::spawn(async move {
            let incoming = TcpListenerStream::new(listener);
            let _ = tonic::transport::Server::builder().serve_with_incoming(service, incoming).await;
        });
        Self { endpoint, spans }
    }

    /// How many spans arrived so far.
    #[allow(dead_code)] // read by examples/otlp_sink.rs, not by the tests
    pub fn count(&self) -> usize {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The `TraceService` implementation.
struct Collector(Arc<Mutex<Vec<ReceivedSpan>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
            let instance = text_of(&resource, "service.instance.id");
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                received.push(ReceivedSpan {
                    instance: instance.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: span.attributes.iter().map(|kv| (kv.key.clone(), text(kv.value.as_ref()))).collect(),
                    links: span.links.iter().map(|l| hex(&l.trace_id)).collect(),
                });
            }
        }
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend(received);
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn text_of(attributes: &[KeyValue], key: &str) -> String {
    attributes.iter().find(|kv| kv.key == key).map(|kv| text(kv.value.as_ref())).unwrap_or_default()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
