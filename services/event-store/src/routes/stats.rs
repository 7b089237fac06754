//! `GET /stats` (operators only): totals over the event store, and a page
//! of aggregates (by aggregate id) with each one's number of events and
//! latest version. While there is a next page, `nextAfter` names where it
//! starts and `Link: <…>; rel="next"` (RFC 8288) is its address.

use std::collections::BTreeMap;

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::AccountId;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal, with_next_link};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::{AggregateVersion, EventStore, MAX_PAGE};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{QueryState, page_size, store_problem};

const PATH: &str = "/stats";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct StatsQuery {
    /// Only aggregates whose id sorts after this one (the store's text
    /// order).
    #[schemars(with = "Option<AccountId>")]
    after: Option<String>,
    /// How many aggregates per page (default 100).
    #[schemars(range(min = 1, max = MAX_PAGE))]
    limit: Option<i64>,
}

/// The totals over the event store, and a page of aggregates.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Stats {
    /// Events stored.
    total_events: i64,
    /// Distinct aggregates (accounts) with at least one event.
    total_aggregates: i64,
    /// Snapshots stored.
    total_snapshots: i64,
    /// The highest `globalPosition` written; 0 for an empty store.
    head_position: i64,
    /// Events per `eventType`; only types that occur are present.
    events_by_type: BTreeMap<String, i64>,
    /// Decided commands: the sum of `commandsByStatus`.
    commands: i64,
    /// Decided commands (the store's outcome table) per outcome; every
    /// status (`succeeded`, `rejected`, `failed`) is present.
    commands_by_status: BTreeMap<String, i64>,
    /// A page of aggregates, by aggregate id.
    aggregates: Vec<AggregateCount>,
    /// The page's last `aggregate` when more aggregates follow (the `Link`
    /// header then points at the next page); null on the last page.
    next_after: Option<AccountId>,
}

/// One aggregate's number of events and latest version.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AggregateCount {
    aggregate: AccountId,
    /// How many events the aggregate has.
    event_count: i64,
    /// Its latest version. Versions start at 1 with no gaps, so this equals
    /// `eventCount`.
    latest_version: i64,
}

pub(super) fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getStats")
        .tag("queries")
        .summary("Totals over the event store (operators only)")
        .description(r#"The totals — events, aggregates, snapshots, head position, events by type, decided commands by outcome — read in one REPEATABLE READ, read-only transaction, so they agree with each other while commands are being decided; and a page of aggregates with each one's number of events and latest version, ordered by aggregate id (read beside it, not in that transaction). While more aggregates follow, `nextAfter` names the page's last one and the answer carries `Link: </stats?after=…&limit=…>; rel="next"` (RFC 8288): follow it until an answer has no `Link` (the last page is never empty unless there are no aggregates after `after`).

Checks in this order: bearer token (401), query string (400), operator role (403), `after` and `limit` (422)."#)
        .served_by("command-processor")
        .response_with::<200, Json<Stats>, _>(|r| with_next_link(r.description("The totals and a page of aggregates."), r#"</stats?after=acc-099&limit=100>; rel="next""#))
        .refuses_saying(Refusal::BadRequest, "The query string has a parameter other than `after` and `limit`, or a `limit` that is not an integer.")
        .refuses_saying(Refusal::Forbidden, "The caller does not have the operator role (`this route needs the operator role`).")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `after` is not `^[A-Za-z0-9_-]{1,64}$`, or `limit` is not 1 to 1000.")
        .refuses_saying(Refusal::Internal, "Stored data could not be decoded (corrupt event or snapshot); details are only logged.")
        .refuses_saying(Refusal::Unavailable, "The event store is not reachable; retry.")
        .refuses(&[Refusal::Unauthorized])
}

pub(super) async fn stats(
    State(state): State<QueryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<StatsQuery>,
) -> Result<(HeaderMap, Json<Stats>), ApiProblem> {
    caller.require_operator()?;
    let after = q
        .after
        .map(AccountId::parse)
        .transpose()
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("after", e)]))?;
    let limit = page_size(q.limit)?;
    // One aggregate more than the page: whether it exists says if a next
    // page does, so the last page is never an empty one.
    let (totals, mut page) = tokio::try_join!(
        state.store.stats(),
        state.store.aggregate_versions(after.as_ref(), limit + 1)
    )
    .map_err(store_problem)?;
    let mut headers = HeaderMap::new();
    let mut next_after = None;
    if page.len() as i64 > limit {
        page.truncate(limit as usize);
        next_after = page.last().map(|v| v.aggregate_id.clone());
        if let Some(link) = next_after.as_ref().and_then(|last| next_link(last, limit)) {
            headers.insert(LINK, link);
        }
    }
    let commands: i64 = totals.commands_by_status.values().sum();
    Ok((
        headers,
        Json(Stats {
            total_events: totals.events,
            total_aggregates: totals.aggregates,
            total_snapshots: totals.snapshots,
            head_position: totals.head_position,
            events_by_type: totals.events_by_type,
            commands,
            commands_by_status: totals.commands_by_status,
            aggregates: page.iter().map(aggregate_count).collect(),
            next_after,
        }),
    ))
}

fn aggregate_count(v: &AggregateVersion) -> AggregateCount {
    AggregateCount {
        aggregate: v.aggregate_id.clone(),
        event_count: v.event_count,
        latest_version: v.version,
    }
}

/// The `Link` to the page after one that ended with `last`.
fn next_link(last: &AccountId, limit: i64) -> Option<HeaderValue> {
    ledgerline_runtime::next_link(&format!("{PATH}?after={last}&limit={limit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_continues_after_the_last_aggregate_with_the_same_limit() {
        let last = AccountId::parse("acc-9").unwrap();
        assert_eq!(
            next_link(&last, 2).unwrap(),
            r#"</stats?after=acc-9&limit=2>; rel="next""#
        );
    }

    #[test]
    fn an_aggregate_is_named_with_its_event_count_and_latest_version() {
        let v = AggregateVersion {
            aggregate_id: AccountId::parse("acc-999").unwrap(),
            version: 3,
            event_count: 3,
        };
        assert_eq!(
            serde_json::to_value(aggregate_count(&v)).unwrap(),
            serde_json::json!({"aggregate": "acc-999", "eventCount": 3, "latestVersion": 3})
        );
    }
}
