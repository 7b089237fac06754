//! `GET /projections` and `GET /projections/AuditLog`: every read model's
//! status and lag (the audit log's data is `/audit`; every other read model
//! has a route of its own under its name, with its status beside its data), gathered over NATS from the projectors that own them
//! (and the head from the command processor), so any process that runs
//! the balance service can answer — an edge proxy may route these paths to
//! any of them.

use axum::Json;
use axum::extract::State;
use ledgerline_auth::Caller;
use ledgerline_projection::{ProjectionView, ProjectionsOverview, Projector, READ_MODELS, gather};
use ledgerline_runtime::ApiProblem;
use serde_json::Value;

use super::BalanceState;
use super::daily_summary::DAILY_SUMMARY;
use crate::Balances;

pub(super) async fn list(
    State(state): State<BalanceState>,
    _caller: Caller,
) -> Json<ProjectionsOverview> {
    Json(with_daily_summary(gather(&state.sources).await))
}

/// The overview with DailySummary listed after the others. Its projector is
/// AccountBalances' (both are written in one transaction, under one
/// checkpoint, and rebuilt together), so it has that read model's status,
/// checkpoint and lag — or none, when that one did not answer.
fn with_daily_summary(mut overview: ProjectionsOverview) -> ProjectionsOverview {
    if let Some(balances) = overview.find(Balances::NAME) {
        let daily = ProjectionView {
            name: DAILY_SUMMARY.to_owned(),
            ..balances.clone()
        };
        overview.items.push(daily);
    }
    overview
}

/// The AuditLog read model's status (its entries are `GET /audit`).
pub(super) async fn audit_log(
    State(state): State<BalanceState>,
    _caller: Caller,
) -> Result<Json<Value>, ApiProblem> {
    const NAME: &str = "AuditLog";
    let overview = gather(&state.sources).await;
    let Some(view) = overview.find(NAME) else {
        return Err(ApiProblem::unavailable(format!(
            "no {NAME} status; known: {}",
            READ_MODELS.join(", ")
        )));
    };
    if !view.answered() {
        return Err(ApiProblem::unavailable(format!(
            "the {NAME} projector did not answer"
        )));
    }
    serde_json::to_value(view)
        .map(Json)
        .map_err(ApiProblem::internal)
}
