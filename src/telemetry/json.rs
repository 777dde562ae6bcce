//! JSON log lines that name their trace: `trace_id` and `span_id` of the span an event was logged in, so a log
//! line found in a search leads to the trace (and back). Lines logged outside any exported span have neither.
//!
//! tracing-subscriber's JSON formatter does not know OpenTelemetry ids, so this wraps it: the line is formatted
//! as usual and the two keys are spliced in front of its fields.

use std::fmt;

use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A JSON event formatter adding the OpenTelemetry ids of the event's span.
pub struct WithTraceIds<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        // Looked up after formatting: the inner formatter must not hold span extensions meanwhile.
        match (span_context(ctx), line.strip_prefix('{')) {
            (Some(sc), Some(rest)) => {
                write!(writer, r#"{{"trace_id":"{}","span_id":"{}",{rest}"#, sc.trace_id(), sc.span_id())
            }
            _ => writer.write_str(&line),
        }
    }
}

/// The exported span context of the event's span, if it has one.
fn span_context<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<SpanContext>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let id = ctx.parent_span()?.id();
    let cx = tracing::dispatcher::get_default(|dispatch| tracing_opentelemetry::get_otel_context(&id, dispatch))?;
    let sc = cx.span().span_context().clone();
    sc.is_valid().then_some(sc)
}
