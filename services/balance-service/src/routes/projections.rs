//! `GET /projections` and `GET /projections/AuditLog`: every read model's
//! status and lag (the audit log's data is `/audit`; every other read model
//! has a route of its own under its name, with its status beside its data), gathered over NATS from the projectors that own them
//! (and the head from the command processor), so any process that runs
//! the balance service can answer — an edge proxy may route these paths to
//! any of them.

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use ledgerline_auth::Caller;
use ledgerline_projection::{ProjectionView, ProjectionsOverview, Projector, READ_MODELS, gather};
use ledgerline_runtime::ApiProblem;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};

use super::BalanceState;
use super::daily_summary::DAILY_SUMMARY;
use crate::Balances;

pub(super) fn list_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("listProjections")
        .tag("projections")
        .summary("Every read model's status and lag")
        .description("The known read models — `AccountBalances`, `TransactionHistory`, `AuditLog`, in that order — then any other that answered, then `DailySummary`. DailySummary is kept by the AccountBalances projector (in the same transaction, under one checkpoint, rebuilt with it), so it is listed with that read model's status, checkpoint and lag, and only when the balance service answering has that status. A known one that did not answer in time is listed with status `unreachable` and nulls; without the head, `headPosition` and every `lag` are null. Always 200 once the token is valid.

Gathered over NATS request–reply, so the balance service answers without reading other services' tables: every projector (every replica) answers `bank.rpc.projections` with its checkpoint (no queue group; replicas of one read model keep the furthest checkpoint), and the command processor answers `bank.rpc.store-head` with the event store's head; `lag` = head − checkpoint. The request waits at most 300 ms (less once every known read model has answered). Any caller with a valid token may read it (no operator role needed). Query parameters are ignored.")
        .served_by("balance-service")
        .response_with::<200, Json<ProjectionsOverview>, _>(|r| r.description("The head and every read model."))
        .refuses(&[Refusal::Unauthorized])
}

pub(super) fn audit_log_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getAuditLogStatus")
        .tag("projections")
        .summary("The AuditLog read model's status and lag")
        .description("The AuditLog item of `GET /projections`.

Gathered over NATS request–reply, so the balance service answers without reading other services' tables: every projector (every replica) answers `bank.rpc.projections` with its checkpoint (no queue group; replicas of one read model keep the furthest checkpoint), and the command processor answers `bank.rpc.store-head` with the event store's head; `lag` = head − checkpoint. The request waits at most 300 ms (less once every known read model has answered). Any caller with a valid token may read it (no operator role needed). Query parameters are ignored.")
        .served_by("balance-service")
        .response_with::<200, Json<ProjectionView>, _>(|r| r.description("The read model, live."))
        .refuses_saying(Refusal::Unavailable, "The AuditLog projector did not answer within 300 ms (`the AuditLog projector did not answer`).")
        .refuses(&[Refusal::Unauthorized])
}

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
) -> Result<Json<ProjectionView>, ApiProblem> {
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
    Ok(Json(view.clone()))
}
