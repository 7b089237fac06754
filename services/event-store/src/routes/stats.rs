//! `GET /stats` (operators only): totals over the event store, and a page
//! of aggregates (by aggregate id) with each one's number of events and
//! latest version. While there is a next page, `nextAfter` names where it
//! starts and `Link: <…>; rel="next"` (RFC 8288) is its address.

use axum::Json;
use axum::extract::State;
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::AccountId;
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::{AggregateVersion, EventStore};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{QueryState, page_size, store_problem};

const PATH: &str = "/stats";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct StatsQuery {
    /// Aggregates whose id sorts after this one.
    after: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn stats(
    State(state): State<QueryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<StatsQuery>,
) -> Result<(HeaderMap, Json<Value>), ApiProblem> {
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
    let aggregates: Vec<Value> = page.iter().map(aggregate_json).collect();
    Ok((
        headers,
        Json(json!({
            "totalEvents": totals.events,
            "totalAggregates": totals.aggregates,
            "totalSnapshots": totals.snapshots,
            "headPosition": totals.head_position,
            "eventsByType": totals.events_by_type,
            "commands": commands,
            "commandsByStatus": totals.commands_by_status,
            "aggregates": aggregates,
            "nextAfter": next_after,
        })),
    ))
}

fn aggregate_json(v: &AggregateVersion) -> Value {
    json!({
        "aggregate": v.aggregate_id,
        "eventCount": v.event_count,
        "latestVersion": v.version,
    })
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
            aggregate_json(&v),
            json!({"aggregate": "acc-999", "eventCount": 3, "latestVersion": 3})
        );
    }
}
