use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::{FromRef, State};
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_domain::{AccountId, Balance};
use ledgerline_projection::tuning::TRANSACTION_HISTORY_PAGE;
use ledgerline_projection::{ProjectionView, Projector, ReadModelDb, Sources, local_view};
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
    api().with_state::<()>(state).into()
}

/// The route, documented, before it is given its state.
pub fn api() -> ApiRouter<HistoryState> {
    ApiRouter::new().api_route("/projections/TransactionHistory", get_with(history, doc))
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryQuery {
    /// Only this account's transactions.
    #[schemars(with = "Option<AccountId>")]
    account_id: Option<String>,
    /// How many rows (default 50).
    #[schemars(range(min = 1, max = TRANSACTION_HISTORY_PAGE.max))]
    limit: Option<i64>,
    /// Read-your-writes: answer once the read model has applied the event
    /// at this global position (a status envelope's `position`; 0 waits
    /// for nothing), or 503 with `Retry-After` after 3 s; 404 if no event
    /// has this position.
    #[schemars(range(min = 0))]
    min_position: Option<i64>,
}

/// The caller's transactions, beside the read model's status.
#[derive(Serialize, JsonSchema)]
struct TransactionHistory {
    #[serde(flatten)]
    view: ProjectionView,
    /// Newest first.
    items: Vec<Transaction>,
}

/// One event of one of the caller's accounts.
#[derive(Serialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TransactionHistoryItem")]
struct Transaction {
    event_id: Uuid,
    #[schemars(with = "AccountId")]
    account_id: String,
    version: i64,
    /// Every account event type: a transfer is TransferDebited on the
    /// sender's account, TransferCredited on the receiver's, then
    /// TransferCompleted on the sender's — or TransferRefunded there when
    /// the credit was refused.
    #[schemars(extend("enum" = ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "AccountClosed", "TransferDebited", "TransferCredited", "TransferCompleted", "TransferRefunded"]))]
    event_type: String,
    /// Null for AccountOpened and AccountClosed.
    #[serde(serialize_with = "ledgerline_domain::as_major_opt")]
    #[schemars(with = "Option<Balance>")]
    amount: Option<i64>,
    /// The initial balance for AccountOpened; null for AccountClosed and
    /// TransferCompleted (which moves no money of its own).
    #[serde(serialize_with = "ledgerline_domain::as_major_opt")]
    #[schemars(with = "Option<Balance>")]
    balance_after: Option<i64>,
    command_id: Uuid,
    /// RFC 3339: when the event happened.
    #[serde(rename = "timestamp", with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    occurred_at: OffsetDateTime,
}

fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getTransactionHistory")
        .tag("projections")
        .summary("The caller's transactions, newest first (read model)")
        .description("One row per event of the caller's accounts, newest first (by global position), optionally for one account. The body carries the read model's status beside `items` — the same fields as `GET /projections/AuditLog` — read from this service's own checkpoint; `lag` needs the store head from the command processor (`bank.rpc.store-head`, waited for at most 300 ms) and is null without it.")
        .served_by("history-service")
        .response_with::<200, Json<TransactionHistory>, _>(|r| r.description("The caller's transactions, and the read model's status."))
        .refuses_saying(Refusal::BadRequest, "The query string has an unknown parameter or a value that is not an integer.")
        .refuses_saying(Refusal::NotFound, "No event has position `minPosition` (none appeared there within 3 s: it is past the log's head, or a gap), so the read model can never reach it.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `accountId` is not `^[A-Za-z0-9_-]{1,64}$`, or `limit` is not 1 to 500.")
        .refuses_saying(Refusal::Unavailable, "The read model, or its checkpoint, could not be read; or it had not applied `minPosition` within 3 s.")
        .refuses(&[Refusal::Unauthorized])
}

/// The caller's transactions, newest first, optionally for one account,
/// with the read model's status (the fields `GET /projections/{name}` has).
async fn history(
    State(state): State<HistoryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<HistoryQuery>,
) -> Result<Json<TransactionHistory>, ApiProblem> {
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
    Ok(Json(TransactionHistory { view, items }))
}
