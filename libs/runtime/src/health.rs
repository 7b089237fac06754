use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use std::collections::BTreeMap;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Serialize;

use crate::api_doc::OperationDocs;

type Check =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What a service needs before it can do useful work (NATS connected,
/// PostgreSQL answering). `/readyz` is red until every check passes.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, Check)>,
}

impl Readiness {
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name.to_owned(), Arc::new(move || Box::pin(check()))));
        self
    }

    /// Adds another service's checks, named `{service}.{check}`.
    pub fn merge(mut self, service: &str, other: Readiness) -> Self {
        self.checks.extend(
            other
                .checks
                .into_iter()
                .map(|(name, check)| (format!("{service}.{name}"), check)),
        );
        self
    }

    pub fn nats(self, client: async_nats::Client) -> Self {
        self.check("nats", move || {
            let state = client.connection_state();
            async move {
                match state {
                    async_nats::connection::State::Connected => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
    }

    pub fn postgres(self, name: &'static str, pool: sqlx::PgPool) -> Self {
        self.check(name, move || {
            let pool = pool.clone();
            async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    }

    async fn report(&self) -> ReadinessReport {
        let mut ready = true;
        let mut checks = BTreeMap::new();
        for (name, check) in &self.checks {
            let result = check().await;
            ready &= result.is_ok();
            checks.insert(
                name.clone(),
                result.err().unwrap_or_else(|| "ok".to_owned()),
            );
        }
        ReadinessReport { ready, checks }
    }
}

/// `/healthz` (the process is alive), `/readyz` (it can do its work) and
/// `/metrics` (Prometheus text).
pub fn health_routes(readiness: Readiness) -> Router {
    health_api().with_state::<()>(readiness).into()
}

/// The routes, documented, before they are given the checks.
pub fn health_api() -> ApiRouter<Readiness> {
    ApiRouter::new()
        .api_route(
            "/healthz",
            get_with(|| async { Json(Alive { status: "ok" }) }, healthz_doc),
        )
        .api_route(
            "/metrics",
            get_with(
                || async { ledgerline_telemetry::render_metrics() },
                metrics_doc,
            ),
        )
        .api_route("/readyz", get_with(readyz, readyz_doc))
}

/// The process is alive.
#[derive(Serialize, JsonSchema)]
struct Alive {
    /// Always `ok`.
    status: &'static str,
}

/// Whether every check passed, and each check's result.
#[derive(Serialize, JsonSchema)]
struct ReadinessReport {
    ready: bool,
    /// One entry per check of every service in the process, named
    /// `{service}.{check}` (e.g. `command-api.nats`,
    /// `balance-service.postgres`): `ok` or the error.
    checks: BTreeMap<String, String>,
}

async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, Json<ReadinessReport>) {
    let report = readiness.report().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

fn healthz_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("healthz")
        .tag("health")
        .summary("Liveness")
        .description("The process is alive. Never an error response. No token. Not routed by the edge (probes reach each process).")
        .served_by("every process")
        .response_with::<200, Json<Alive>, _>(|r| r.description("Alive."))
}

fn metrics_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("metrics")
        .tag("health")
        .summary("Prometheus metrics")
        .description("The process's metrics in the Prometheus text exposition format, for a scraper that reaches the process directly (compose: `deploy/prometheus.yml`; Kubernetes: the `prometheus.io/*` pod annotations). No token. The compose edge does not expose it (404). Among them: `ledgerline_commands_accepted_total{kind}`, `ledgerline_commands_decided_total{kind,status}`, `ledgerline_command_end_to_end_seconds`, `ledgerline_projection_events_total{projection}`, `ledgerline_projection_position{projection}`, `ledgerline_socket_connections`, `ledgerline_socket_frames_total`, `ledgerline_socket_slow_consumer_closes_total`, `ledgerline_socket_rtt_seconds` — each only once it has been recorded in this process. Never an error response. As built, the Prometheus recorder is installed by the process's first `GET /metrics` (`libs/telemetry/src/metrics_recorder.rs`), so what happened before the first scrape is not counted; the very first answer may be empty.")
        .served_by("every process")
        .response_with::<200, String, _>(|r| r.description("The text exposition."))
}

fn readyz_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("readyz")
        .tag("health")
        .summary("Readiness")
        .description("Runs every check (NATS connected, PostgreSQL answering) of every service in the process. No token. Not routed by the edge (probes reach each process).")
        .served_by("every process")
        .response_with::<200, Json<ReadinessReport>, _>(|r| r.description("Every check passed."))
        .response_with::<503, Json<ReadinessReport>, _>(|r| {
            r.description("At least one check failed. The same JSON shape (not a problem document), no `Retry-After`.")
        })
}
