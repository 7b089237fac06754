use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_domain::AccountId;
use ledgerline_projection::tuning::TRANSACTION_HISTORY_PAGE;
use ledgerline_projection::{Projector, ReadModelDb, Sources, local_view};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::History;

#[derive(Clone)]
pub struct HistoryState {
    pub db: ReadModelDb,
    pub keys: TokenKeys,
    /// For the read model's lag (the store head, over NATS).
    /// The event stream, the event store's reads, this process's read models.
    pub sources: Sources,
}

impl FromRef<HistoryState> for TokenKeys {
    fn from_ref(state: &HistoryState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: HistoryState) -> Router {
    Router::new()
        .route("/projections/TransactionHistory", get(history))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryQuery {
    account_id: Option<String>,
    limit: Option<i64>,
    /// Read-your-writes: wait until this global position is applied.
    min_position: Option<i64>,
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    event_id: Uuid,
    account_id: String,
    version: i64,
    event_type: String,
    #[serde(serialize_with = "ledgerline_domain::as_major_opt")]
    amount: Option<i64>,
    #[serde(serialize_with = "ledgerline_domain::as_major_opt")]
    balance_after: Option<i64>,
    command_id: Uuid,
    #[serde(rename = "timestamp", with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
}

/// The caller's transactions, newest first, optionally for one account,
/// with the read model's status (the fields `GET /projections/{name}` has).
async fn history(
    State(state): State<HistoryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<HistoryQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let min = ledgerline_projection::min_position(q.min_position)?;
    ledgerline_projection::wait_for_position(state.sources.store.as_ref(), &state.db.pool(), min)
        .await?;
    let account = q
        .account_id
        .map(AccountId::parse)
        .transpose()
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("accountId", e)]))?;
    let limit = match q.limit.unwrap_or(TRANSACTION_HISTORY_PAGE.default) {
        n if (1..=TRANSACTION_HISTORY_PAGE.max).contains(&n) => n,
        _ => {
            return Err(ApiProblem::invalid(vec![FieldError::new(
                "limit",
                format!("must be 1 to {}", TRANSACTION_HISTORY_PAGE.max),
            )]));
        }
    };
    let pool = state.db.pool();
    let (view, items) = tokio::join!(
        local_view(state.sources.store.as_ref(), &state.db, History::NAME),
        sqlx::query_as::<_, Transaction>(
            "SELECT event_id, account_id, version, event_type, amount, balance_after, command_id, occurred_at
             FROM transactions WHERE owner_id = $1 AND ($2::text IS NULL OR account_id = $2)
             ORDER BY global_position DESC LIMIT $3",
        )
        .bind(caller.user_id.as_str())
        .bind(account.as_ref().map(AccountId::as_str))
        .bind(limit)
        .fetch_all(&pool)
    );
    let unavailable = |e: sqlx::Error| ApiProblem::unavailable(format!("cannot read history: {e}"));
    let (view, items) = (view.map_err(unavailable)?, items.map_err(unavailable)?);
    let mut body = serde_json::to_value(view).map_err(ApiProblem::internal)?;
    body["items"] = serde_json::to_value(items).map_err(ApiProblem::internal)?;
    Ok(Json(body))
}
