//! The event log, a page at a time: the body is the page — a JSON array of
//! events, oldest first, as the showcase answers — and while a page is full
//! a `Link: <…>; rel="next"` header (RFC 8288) names the next one, as the
//! balances route does.

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::LINK;
use ledgerline_auth::Caller;
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal, with_next_link};
use ledgerline_runtime::{ApiProblem, ValidQuery, next_link};
use ledgerline_store::{EventStore, MAX_PAGE};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{AccountPath, QueryState, page_size, parse_account, store_problem, visible_account};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AccountEventsQuery {
    /// Only events with a greater version. Default 0; a negative value
    /// counts as 0.
    after_version: Option<i64>,
    /// Page size (default 100).
    #[schemars(range(min = 1, max = MAX_PAGE))]
    limit: Option<i64>,
}

pub(super) fn account_events_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getAccountEvents")
        .tag("queries")
        .summary("One account's events, oldest first")
        .description("A page of the account's events with `version > afterVersion`: the body is a JSON array; while a page is full, `Link` names the next one.")
        .served_by("command-processor")
        .response_with::<200, Json<Vec<EventEnvelope>>, _>(|r| {
            with_next_link(
                r.description(r#"A page of events, oldest first: the body is a JSON array. A full page (as many events as `limit`) carries `Link: <…>; rel="next"` naming the next page (the same route with `afterVersion` set to the last event's version); a shorter page is the last."#),
                r#"</events/account/acc-1?afterVersion=100&limit=100>; rel="next""#,
            )
        })
        .with(page_refusals)
        .refuses_saying(Refusal::Forbidden, "A user asked for an account owned by someone else (operators may read every account).")
        .refuses_saying(Refusal::NotFound, "No account with this id has been opened.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `accountId` is not `^[A-Za-z0-9_-]{1,64}$`, or `limit` is not 1 to 1000.")
}

/// What both event pages can refuse.
fn page_refusals(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.refuses_saying(
        Refusal::BadRequest,
        "The query string has an unknown parameter or a value that is not an integer.",
    )
    .refuses(&[Refusal::Unauthorized])
    .refuses_saying(
        Refusal::Internal,
        "Stored data could not be decoded (corrupt event or snapshot); details are only logged.",
    )
    .refuses_saying(
        Refusal::Unavailable,
        "The event store is not reachable; retry.",
    )
}

pub(super) async fn account_events(
    State(state): State<QueryState>,
    caller: Caller,
    Path(path): Path<AccountPath>,
    ValidQuery(q): ValidQuery<AccountEventsQuery>,
) -> Result<(HeaderMap, Json<Vec<EventEnvelope>>), ApiProblem> {
    let id = parse_account(path.account_id)?;
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

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct StreamQuery {
    /// Only events with a greater `globalPosition`. Default 0; a negative
    /// value counts as 0.
    after: Option<i64>,
    /// Page size (default 100).
    #[schemars(range(min = 1, max = MAX_PAGE))]
    limit: Option<i64>,
}

pub(super) fn stream_doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("getEventStream")
        .tag("queries")
        .summary("The global event log, in global position order")
        .description("Operators get every event; a user gets the events of the accounts they own. Only events whose writing transaction is older than every transaction still in flight are returned, so paging on with `Link` never skips a late commit.")
        .served_by("command-processor")
        .response_with::<200, Json<Vec<EventEnvelope>>, _>(|r| {
            with_next_link(
                r.description(r#"A page of events, oldest first: the body is a JSON array. A full page (as many events as `limit`) carries `Link: <…>; rel="next"` naming the next page (the same route with `after` set to the last event's globalPosition); a shorter page is the last."#),
                r#"</events/stream?after=100&limit=100>; rel="next""#,
            )
        })
        .with(page_refusals)
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `limit` is not 1 to 1000.")
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
