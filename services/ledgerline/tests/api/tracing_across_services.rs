//! One command is one trace: HTTP POST → processor (load, decide, append)
//! → each projector → socket push, parented in that order, across NATS.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

use crate::helpers::{spawn_app, status_frames};

/// Every span of this test process, kept in memory (the subscriber is
/// process-wide, so spans of other tests land here too: filter by trace).
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("ledgerline-test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        Box::leak(Box::new(provider));
        exporter
    })
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_is_one_trace_across_every_service() {
    let exporter = exporter();
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-trace").await;
    status_frames(&mut socket, 1, Duration::from_secs(10)).await;

    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let caller = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let response = app
        .http
        .post(app.url("/commands/deposit"))
        .bearer_auth(&alice)
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .json(&json!({"accountId": "acc-trace", "amount": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let frames = status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    let stored = frames[0]["events"][0]["metadata"]["traceparent"]
        .as_str()
        .unwrap_or_default();
    assert!(
        stored.contains(&trace.to_string()),
        "the event keeps its trace: {stored:?}"
    );
    app.eventually(
        &alice,
        "/projections/TransactionHistory?accountId=acc-trace",
        |b| b["items"].as_array().map_or(0, Vec::len) == 2,
    )
    .await;
    app.eventually(&alice, "/audit", |b| {
        b["items"].as_array().map_or(0, Vec::len) == 4
    })
    .await;

    // Spans are exported as they end; give the last ones a moment.
    let mut spans: Vec<SpanData> = Vec::new();
    for _ in 0..50 {
        spans = exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        if spans
            .iter()
            .filter(|s| s.name == "projection.apply")
            .count()
            >= 3
            && spans.iter().any(|s| s.name == "socket.push")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let one = |name: &str| {
        let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "{name}: {:?}",
            spans.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
        );
        found[0]
    };
    let http = one("http.request");
    let handle = one("command.handle");
    assert_eq!(
        http.parent_span_id, caller,
        "the API continues the caller's trace"
    );
    assert_eq!(
        handle.parent_span_id,
        http.span_context.span_id(),
        "the processor continues the request's trace over NATS"
    );
    for step in ["account.load", "domain.decide", "store.commit"] {
        assert_eq!(
            one(step).parent_span_id,
            handle.span_context.span_id(),
            "{step} inside command.handle"
        );
    }
    let mut projections: Vec<String> = spans
        .iter()
        .filter(|s| s.name == "projection.apply")
        .inspect(|s| {
            assert_eq!(
                s.parent_span_id,
                handle.span_context.span_id(),
                "projectors continue from the processor"
            )
        })
        .filter_map(|s| attribute(s, "projection"))
        .collect();
    projections.sort();
    assert_eq!(
        projections,
        ["AccountBalances", "AuditLog", "TransactionHistory"]
    );
    assert_eq!(
        one("socket.push").parent_span_id,
        handle.span_context.span_id(),
        "the push continues from the processor"
    );
}
