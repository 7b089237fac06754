//! The balance service's reads: the caller's balances and daily summary,
//! and — for the whole system — the status of every read model.

use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_bus::Bus;
use ledgerline_projection::{Projector, ReadModelDb, local_view};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::Balances;

mod daily_summary;
mod projections;
mod rebuild;

#[derive(Clone)]
pub struct BalanceState {
    pub db: ReadModelDb,
    pub keys: TokenKeys,
    /// For the admin view of the read models (NATS request–reply).
    pub bus: Bus,
    /// Largest request body (`POST /projections/rebuild`).
    pub body_limit: usize,
}

impl FromRef<BalanceState> for TokenKeys {
    fn from_ref(state: &BalanceState) -> TokenKeys {
        state.keys.clone()
    }
}

/// `/projections/{name}` sits beside the static `/projections/…` routes of
/// this and other services (merged into one router in an `all` process):
/// a static segment wins over the capture, so the read models' own routes
/// answer for their names and the capture answers for the rest (a GET of
/// `/projections/rebuild` is a 405). `POST /projections/rebuild` is
/// forwarded over NATS to the projector that owns the named read model.
pub fn routes(state: BalanceState) -> Router {
    Router::new()
        .route("/projections", get(projections::list))
        .route("/projections/{name}", get(projections::one))
        .route("/projections/rebuild", post(rebuild::rebuild))
        .route("/projections/AccountBalances", get(balances))
        .route(
            "/projections/DailySummary",
            get(daily_summary::daily_summary),
        )
        .with_state(state)
}

fn read_failed(what: &str) -> impl Fn(sqlx::Error) -> ApiProblem + '_ {
    move |e| ApiProblem::unavailable(format!("cannot read {what}: {e}"))
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct AccountBalance {
    account_id: String,
    owner_id: String,
    currency: String,
    /// Minor units.
    balance: i64,
    status: String,
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// The caller's accounts and balances, with the read model's status (the
/// same fields `GET /projections/{name}` has for the others).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BalancesQuery {
    /// Read-your-writes: wait until this global position is applied.
    min_position: Option<i64>,
}

async fn balances(
    State(state): State<BalanceState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<BalancesQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let pool = state.db.pool();
    let min = ledgerline_projection::min_position(q.min_position)?;
    ledgerline_projection::wait_for_position(&state.bus, &pool, min).await?;
    let (view, items) = tokio::join!(
        local_view(&state.bus, &state.db, Balances::NAME),
        sqlx::query_as::<_, AccountBalance>(
            "SELECT account_id, owner_id, currency, balance, status, version, updated_at
             FROM accounts WHERE owner_id = $1 ORDER BY account_id",
        )
        .bind(caller.user_id.as_str())
        .fetch_all(&pool)
    );
    let view = view.map_err(read_failed("the projection status"))?;
    let items = items.map_err(read_failed("balances"))?;
    let mut body = serde_json::to_value(view).map_err(ApiProblem::internal)?;
    body["items"] = serde_json::to_value(items).map_err(ApiProblem::internal)?;
    Ok(Json(body))
}
