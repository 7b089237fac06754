use axum::extract::{FromRef, Path, State};
use axum::routing::get;
use axum::{Json, Router};
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::{EventEnvelope, FieldError};
use ledgerline_domain::{Account, AccountId, AccountStatus};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::{EventStore, PostgresEventStore, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

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

/// Reads of the store the processor owns.
pub fn routes(state: QueryState) -> Router {
    Router::new()
        .route("/queries/account/{id}", get(account))
        .route("/events/account/{id}", get(account_events))
        .route("/events/stream", get(stream))
        .with_state(state)
}

const MAX_PAGE: i64 = 1_000;

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

pub fn account_json(account: &Account) -> Value {
    let (owner, currency, balance, status) = match &account.status {
        AccountStatus::Open {
            owner_id,
            currency,
            balance,
        } => (Some(owner_id), Some(currency), balance.minor(), "open"),
        AccountStatus::Closed { owner_id, currency } => {
            (Some(owner_id), Some(currency), 0, "closed")
        }
        AccountStatus::NotOpened => (None, None, 0, "notOpened"),
    };
    json!({ "accountId": account.id, "ownerId": owner, "currency": currency, "balance": balance,
            "status": status, "version": account.version })
}

async fn account(
    State(state): State<QueryState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiProblem> {
    let id = parse_account(id)?;
    let account = visible_account(&state.store, &caller, &id).await?;
    Ok(Json(account_json(&account)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccountEventsQuery {
    after_version: Option<i64>,
    limit: Option<i64>,
}

async fn account_events(
    State(state): State<QueryState>,
    caller: Caller,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<AccountEventsQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let id = parse_account(id)?;
    let limit = page_size(q.limit)?;
    let after = q.after_version.unwrap_or(0).max(0);
    visible_account(&state.store, &caller, &id).await?;
    let items = state
        .store
        .account_events(&id, after, limit)
        .await
        .map_err(store_problem)?;
    Ok(Json(page(items, |e| e.version, "nextAfterVersion")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StreamQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// The global log: everything for operators, a user's own accounts for users.
async fn stream(
    State(state): State<QueryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<StreamQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let limit = page_size(q.limit)?;
    let owner = (!caller.is_operator()).then_some(&caller.user_id);
    let items = state
        .store
        .stream(q.after.unwrap_or(0).max(0), limit, owner)
        .await
        .map_err(store_problem)?;
    Ok(Json(page(items, |e| e.global_position, "nextAfter")))
}

fn page(items: Vec<EventEnvelope>, cursor: impl Fn(&EventEnvelope) -> i64, name: &str) -> Value {
    let next = items.last().map(cursor);
    json!({ "items": items, name: next })
}
