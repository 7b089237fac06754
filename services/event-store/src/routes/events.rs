//! The event log, a page at a time: the body is the page — a JSON array of
//! events, oldest first, as the showcase answers — and while a page is full
//! a `Link: <…>; rel="next"` header (RFC 8288) names the next one, as the
//! balances route does.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::LINK;
use ledgerline_auth::Caller;
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::{ApiProblem, ValidQuery, next_link};
use ledgerline_store::EventStore;
use serde::Deserialize;

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
) -> Result<(HeaderMap, Json<Vec<EventEnvelope>>), ApiProblem> {
    let id = parse_account(id)?;
    let limit = page_size(q.limit)?;
    let after = q.after_version.unwrap_or(0).max(0);
    visible_account(&state.store, &caller, &id).await?;
    let items = state
        .store
        .account_events(&id, after, limit)
        .await
        .map_err(store_problem)?;
    // Account ids are `[A-Za-z0-9_-]`: nothing to escape.
    let next = |last: &EventEnvelope| {
        format!(
            "/events/account/{id}?afterVersion={}&limit={limit}",
            last.version
        )
    };
    Ok(page(items, limit, next))
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
) -> Result<(HeaderMap, Json<Vec<EventEnvelope>>), ApiProblem> {
    let limit = page_size(q.limit)?;
    let owner = (!caller.is_operator()).then_some(&caller.user_id);
    let items = state
        .store
        .stream(q.after.unwrap_or(0).max(0), limit, owner)
        .await
        .map_err(store_problem)?;
    let next = |last: &EventEnvelope| {
        format!(
            "/events/stream?after={}&limit={limit}",
            last.global_position
        )
    };
    Ok(page(items, limit, next))
}

/// The page as the body; a full page also names the next one in `Link`
/// (whether more follow is known only by reading on, so the page after a
/// full one may be empty); a short page is the last.
fn page(
    items: Vec<EventEnvelope>,
    limit: i64,
    next: impl Fn(&EventEnvelope) -> String,
) -> (HeaderMap, Json<Vec<EventEnvelope>>) {
    let mut headers = HeaderMap::new();
    if items.len() as i64 >= limit
        && let Some(link) = items.last().and_then(|last| next_link(&next(last)))
    {
        headers.insert(LINK, link);
    }
    (headers, Json(items))
}
