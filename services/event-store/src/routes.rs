//! The event store over HTTP: accounts (now or as they were), event
//! streams, and the operators' totals.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Router;
use axum::extract::FromRef;
use ledgerline_auth::{Caller, TokenKeys};
use ledgerline_contracts::FieldError;
use ledgerline_domain::{Account, AccountId, AccountStatus, Balance, Currency, UserId};
use ledgerline_runtime::ApiProblem;
use ledgerline_store::{EventStore, MAX_PAGE, PostgresEventStore, StoreError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    api().with_state::<()>(state).into()
}

/// The routes, documented, before they are given their state.
pub fn api() -> ApiRouter<QueryState> {
    ApiRouter::new()
        .api_route(
            "/queries/account/{accountId}",
            get_with(account::account, account::doc),
        )
        .api_route(
            "/events/account/{accountId}",
            get_with(events::account_events, events::account_events_doc),
        )
        .api_route(
            "/events/stream",
            get_with(events::stream, events::stream_doc),
        )
        .api_route("/stats", get_with(stats::stats, stats::doc))
}

/// The account named in the path: checked by the handler, so that a bad
/// id is a 422 naming the field.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct AccountPath {
    #[schemars(with = "AccountId")]
    account_id: String,
}

/// An unreachable store is a 503 the client may retry; corrupt data is ours (500).
fn store_problem(error: StoreError) -> ApiProblem {
    match error {
        StoreError::Database(e) => {
            ApiProblem::unavailable(format!("the event store is not reachable: {e}"))
        }
        stopped @ StoreError::Stopped(_) => ApiProblem::unavailable(stopped.to_string()),
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

/// An account as it is now or was then (`status` `notOpened` is never
/// answered: such an account is 404).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct AccountView {
    account_id: AccountId,
    /// The same as `accountId` (the event-sourcing showcase's name).
    id: AccountId,
    owner_id: Option<UserId>,
    currency: Option<Currency>,
    /// 0 once closed.
    balance: Balance,
    /// Money debited by transfers not finished yet ("0.00" when none).
    in_flight: Balance,
    status: AccountState,
    /// `status` is `open`.
    is_active: bool,
    /// How many events the account has.
    version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
enum AccountState {
    Open,
    Closed,
    NotOpened,
}

fn account_view(account: &Account) -> AccountView {
    let (owner, currency, balance, status) = match &account.status {
        AccountStatus::Open {
            owner_id,
            currency,
            balance,
            ..
        } => (Some(owner_id), Some(currency), *balance, AccountState::Open),
        AccountStatus::Closed { owner_id, currency } => (
            Some(owner_id),
            Some(currency),
            Balance::ZERO,
            AccountState::Closed,
        ),
        AccountStatus::NotOpened => (None, None, Balance::ZERO, AccountState::NotOpened),
    };
    // `id` and `isActive` repeat `accountId` and `status` under the names
    // the event-sourcing showcase reads.
    AccountView {
        account_id: account.id.clone(),
        id: account.id.clone(),
        owner_id: owner.cloned(),
        currency: currency.cloned(),
        balance,
        in_flight: account.in_flight(),
        status,
        is_active: status == AccountState::Open,
        version: account.version,
    }
}
