//! The balance service's reads: the caller's balances and daily summary,
//! and — for the whole system — the status of every read model.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::Router;
use axum::extract::FromRef;
use ledgerline_auth::TokenKeys;
use ledgerline_projection::ReadModelDb;
use ledgerline_projection::Sources;
use ledgerline_runtime::ApiProblem;

mod account_balances;
mod daily_summary;
mod projections;
mod rebuild;

#[derive(Clone)]
pub struct BalanceState {
    pub db: ReadModelDb,
    pub keys: TokenKeys,
    /// For the admin view of the read models (NATS request–reply).
    /// The event stream, the event store's reads, this process's read models.
    pub sources: Sources,
    /// Largest request body (`POST /projections/rebuild`).
    pub body_limit: usize,
}

impl FromRef<BalanceState> for TokenKeys {
    fn from_ref(state: &BalanceState) -> TokenKeys {
        state.keys.clone()
    }
}

/// Every read model has a path of its own under `/projections/` (the
/// others are served by their services: TransactionHistory by history);
/// no capture overlaps them, so a path means one shape. AuditLog's path is
/// its status (its entries are `/audit`). `POST /projections/rebuild` is
/// forwarded over NATS to the projector that owns the named read model.
pub fn routes(state: BalanceState) -> Router {
    api().with_state::<()>(state).into()
}

/// The routes, documented, before they are given their state.
pub fn api() -> ApiRouter<BalanceState> {
    ApiRouter::new()
        .api_route(
            "/projections",
            get_with(projections::list, projections::list_doc),
        )
        .api_route(
            "/projections/AuditLog",
            get_with(projections::audit_log, projections::audit_log_doc),
        )
        .api_route(
            "/projections/rebuild",
            post_with(rebuild::rebuild, rebuild::doc),
        )
        .api_route(
            "/projections/AccountBalances",
            get_with(account_balances::account_balances, account_balances::doc),
        )
        .api_route(
            "/projections/DailySummary",
            get_with(daily_summary::daily_summary, daily_summary::doc),
        )
}

fn read_failed(what: &str) -> impl Fn(sqlx::Error) -> ApiProblem + '_ {
    move |e| ApiProblem::unavailable(format!("cannot read {what}: {e}"))
}
