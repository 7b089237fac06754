//! W3C trace context in NATS headers: publishers inject the current span's
//! context as `traceparent`; consumers continue the trace from it.

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// Adds the current span's `traceparent` to outgoing NATS headers (nothing
/// when tracing is off).
pub fn inject_current(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// Makes `span` a child of the trace in incoming headers (or of an HTTP
/// `traceparent` value), so the trace continues across services.
pub fn continue_from(span: &tracing::Span, headers: Option<&HeaderMap>, traceparent: Option<&str>) {
    let propagator = TraceContextPropagator::new();
    let parent = match (headers, traceparent) {
        (Some(headers), _) => propagator.extract(&HeaderExtractor(headers)),
        (None, Some(value)) => {
            let mut map = HeaderMap::new();
            map.insert("traceparent", value);
            propagator.extract(&HeaderExtractor(&map))
        }
        (None, None) => return,
    };
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The current span's `traceparent`, for storing beside an event.
pub fn traceparent() -> Option<String> {
    let mut headers = HeaderMap::new();
    inject_current(&mut headers);
    headers.get("traceparent").map(|v| v.as_str().to_owned())
}
