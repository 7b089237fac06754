//! `GET /stats` (operators only): totals over the event store, and each
//! aggregate's latest version, paged by aggregate id.

use axum::Json;
use axum::extract::State;
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::AccountId;
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::EventStore;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{QueryState, page_size, store_problem};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct StatsQuery {
    /// Versions of aggregates whose id sorts after this one.
    after: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn stats(
    State(state): State<QueryState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<StatsQuery>,
) -> Result<Json<Value>, ApiProblem> {
    caller.require_operator()?;
    let after = q
        .after
        .map(AccountId::parse)
        .transpose()
        .map_err(|e| ApiProblem::invalid(vec![FieldError::new("after", e)]))?;
    let limit = page_size(q.limit)?;
    let (totals, versions) = tokio::try_join!(
        state.store.stats(),
        state.store.aggregate_versions(after.as_ref(), limit)
    )
    .map_err(store_problem)?;
    let commands: i64 = totals.commands_by_status.values().sum();
    // A full page may have more after it; a short one is the last.
    let next_after = (versions.len() as i64 == limit)
        .then(|| versions.last().map(|v| v.aggregate_id.clone()))
        .flatten();
    let items: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "aggregateId": v.aggregate_id, "version": v.version }))
        .collect();
    Ok(Json(json!({
        "events": totals.events,
        "aggregates": totals.aggregates,
        "snapshots": totals.snapshots,
        "headPosition": totals.head_position,
        "eventsByType": totals.events_by_type,
        "commands": commands,
        "commandsByStatus": totals.commands_by_status,
        "aggregateVersions": { "items": items, "nextAfter": next_after },
    })))
}
