use axum::Json;
use axum::extract::{Path, State};
use ledgerline_auth::Caller;
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::EventStore;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{QueryState, page_size, parse_account, store_problem, visible_account};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AccountEventsQuery {
    after_version: Option<i64>,
    limit: Option<i64>,
}

pub(super) async fn account_events(
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
pub(super) struct StreamQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// The global log: everything for operators, a user's own accounts for users.
pub(super) async fn stream(
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
