use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_runtime::ApiProblem;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;

#[derive(Clone)]
pub struct BalanceState {
    pub pool: PgPool,
    pub keys: TokenKeys,
}

impl FromRef<BalanceState> for TokenKeys {
    fn from_ref(state: &BalanceState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: BalanceState) -> Router {
    Router::new()
        .route("/projections/AccountBalances", get(balances))
        .with_state(state)
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

/// The caller's accounts and balances.
async fn balances(
    State(state): State<BalanceState>,
    caller: Caller,
) -> Result<Json<Value>, ApiProblem> {
    let items: Vec<AccountBalance> = sqlx::query_as(
        "SELECT account_id, owner_id, currency, balance, status, version, updated_at
         FROM accounts WHERE owner_id = $1 ORDER BY account_id",
    )
    .bind(caller.user_id.as_str())
    .fetch_all(&state.pool)
    .await
    .map_err(|e| ApiProblem::unavailable(format!("cannot read balances: {e}")))?;
    Ok(Json(json!({ "name": "AccountBalances", "items": items })))
}
