use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

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

    async fn report(&self) -> (bool, serde_json::Value) {
        let mut ready = true;
        let mut checks = serde_json::Map::new();
        for (name, check) in &self.checks {
            let result = check().await;
            ready &= result.is_ok();
            checks.insert(
                name.clone(),
                json!(result.err().unwrap_or_else(|| "ok".to_owned())),
            );
        }
        (ready, serde_json::Value::Object(checks))
    }
}

/// `/healthz` (the process is alive), `/readyz` (it can do its work) and
/// `/metrics` (Prometheus text).
pub fn health_routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/metrics",
            get(|| async { ledgerline_telemetry::render_metrics() }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    let (ready, checks) = readiness.report().await;
                    let status = if ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, Json(json!({"ready": ready, "checks": checks})))
                }
            }),
        )
}
