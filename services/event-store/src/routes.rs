//! The event store over HTTP: accounts (now or as they were), event
//! streams, and the operators' totals.

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_domain::{Account, AccountId, AccountStatus, Balance};
use ledgerline_runtime::ApiProblem;
use ledgerline_store::{EventStore, MAX_PAGE, PostgresEventStore, StoreError};
use serde_json::{Value, json};

mod account;
mod events;
mod stats;
mod transactions;

#[derive(Clone)]
pub struct QueryState {
    pub store: PostgresEventStore,
    pub keys: TokenKeys,
}

impl FromRef<QueryState> for TokenKeys {
    fn from_ref(state: &QueryState) -> TokenKeys {
        state.keys.clone()
    }
}

pub fn routes(state: QueryState) -> Router {
    Router::new()
        .route("/queries/account/{id}", get(account::account))
        .route("/events/account/{id}", get(events::account_events))
        .route("/events/stream", get(events::stream))
        .route("/stats", get(stats::stats))
        .with_state(state)
}

/// An unreachable store is a 503 the client may retry; corrupt data is ours (500).
fn store_problem(error: StoreError) -> ApiProblem {
    match error {
        StoreError::Database(e) => {
            ApiProblem::unavailable(format!("the event store is not reachable: {e}"))
        }
        corrupt @ StoreError::Corrupt(_) => ApiProblem::internal(corrupt),
    }
}

fn parse_account(id: String) -> Result<AccountId, ApiProblem> {
    AccountId::parse(id).map_err(|e| ApiProblem::invalid(vec![FieldError::new("accountId", e)]))
}

fn page_size(limit: Option<i64>) -> Result<i64, ApiProblem> {
    match limit.unwrap_or(100) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(ApiProblem::invalid(vec![FieldError::new(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        )])),
    }
}

/// The account, if it exists and the caller may see it. Someone else's
/// account is 403 for a user; operators see every account.
async fn visible_account(
    store: &PostgresEventStore,
    caller: &Caller,
    id: &AccountId,
) -> Result<Account, ApiProblem> {
    let account = store.load(id).await.map_err(store_problem)?;
    match account.owner() {
        None => Err(ApiProblem::not_found(format!(
            "account {id} does not exist"
        ))),
        Some(owner) if owner != &caller.user_id && !caller.is_operator() => {
            Err(ApiProblem::forbidden("you do not own this account"))
        }
        Some(_) => Ok(account),
    }
}

fn account_json(account: &Account) -> Value {
    let (owner, currency, balance, status) = match &account.status {
        AccountStatus::Open {
            owner_id,
            currency,
            balance,
            ..
        } => (Some(owner_id), Some(currency), *balance, "open"),
        AccountStatus::Closed { owner_id, currency } => {
            (Some(owner_id), Some(currency), Balance::ZERO, "closed")
        }
        AccountStatus::NotOpened => (None, None, Balance::ZERO, "notOpened"),
    };
    // `id` and `isActive` repeat `accountId` and `status` under the names
    // the event-sourcing showcase reads.
    json!({ "accountId": account.id, "id": account.id, "ownerId": owner, "currency": currency,
            "balance": balance, "inFlight": account.in_flight(), "status": status,
            "isActive": status == "open", "version": account.version })
}
