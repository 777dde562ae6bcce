//! W3C trace context across process boundaries: injected into the headers of every AMQP message this node
//! publishes (changes and ingestion alike) and extracted from every message it consumes, so one trace follows a
//! flag change from the REST call on one node to the push on every node, and a track call to its writer flush.
//!
//! Only the `traceparent`/`tracestate` headers travel: nothing from the message body or the request.

use std::collections::HashMap;

use lapin::types::{AMQPValue, FieldTable, ShortString};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The current span's trace context as AMQP headers (empty when no trace is recorded).
pub fn inject_current() -> FieldTable {
    let mut carrier = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut Carrier(&mut carrier)));
    let mut table = FieldTable::default();
    for (k, v) in carrier {
        table.insert(ShortString::from(k), AMQPValue::LongString(v.into()));
    }
    table
}

/// The current span's context, when a trace is being recorded (a flush links to the appends it carries).
pub fn current_span_context() -> Option<SpanContext> {
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}

/// The trace context carried in `headers` (empty when there is none).
pub fn extract(headers: Option<&FieldTable>) -> Context {
    let Some(headers) = headers else { return Context::new() };
    let carrier: HashMap<String, String> = headers
        .inner()
        .iter()
        .filter_map(|(k, v)| match v {
            AMQPValue::LongString(s) => Some((k.to_string(), String::from_utf8_lossy(s.as_bytes()).into_owned())),
            _ => None,
        })
        .collect();
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&ReadCarrier(&carrier)))
}

/// Makes `span` a child of the trace context carried in `headers`, if any.
pub fn continue_trace(span: &tracing::Span, headers: Option<&FieldTable>) {
    let _ = span.set_parent(extract(headers));
}

/// Writes header values into a map.
struct Carrier<'a>(&'a mut HashMap<String, String>);

impl Injector for Carrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Reads header values from a map.
struct ReadCarrier<'a>(&'a HashMap<String, String>);

impl Extractor for ReadCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
