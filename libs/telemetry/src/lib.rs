//! Observability in one place: logs (human by default, JSON on request),
//! traces exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (off
//! and free otherwise), W3C trace context carried in NATS headers so one
//! command is one trace across services, and the Prometheus recorder.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod init;
mod metrics_recorder;
mod propagation;

pub use init::{Telemetry, init};
pub use metrics_recorder::{prometheus, render_metrics};
pub use propagation::{continue_from, inject_current, traceparent};
