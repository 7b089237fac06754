//! `GET /queries/account/{id}`: the account rebuilt from its events — as it
//! is now, or, with `?version=N` or `?asOf=<RFC 3339>`, as it was then.

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{Path, State};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::Account;
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::{EventStore, PointInTime, Rebuilt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::transactions::{Transaction, transactions};
use super::{
    AccountPath, AccountView, QueryState, account_view, parse_account, store_problem,
    visible_account,
};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AccountQuery {
    /// The account after its first `version` events (1 = just opened). At
    /// least 1 (else 422) and at most the current version (else 404). Not
    /// together with `asOf` (422).
    #[schemars(range(min = 1))]
    version: Option<i64>,
    /// The account as it was at this instant: an RFC 3339 timestamp with a
    /// time and an offset, such as `2026-11-22T10:00:00Z` (in a URL a `+`
    /// offset must be written `%2B`). Before the account was opened is 404.
    /// Not together with `version` (422).
    #[schemars(extend("format" = "date-time"))]
    as_of: Option<String>,
}

/// The account and the money movements among its events up to its
/// version.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountAnswer {
    #[serde(flatten)]
    account: AccountView,
    /// Only with `?asOf=`: the instant asked for, in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    as_of: Option<String>,
    /// Only for a past state: how it was rebuilt.
    #[serde(skip_serializing_if = "Option::is_none")]
    rebuilt_from: Option<RebuiltFrom>,
    /// How many `transactions`.
    transaction_count: usize,
    /// The money movements among the account's events up to its `version`,
    /// oldest first. Opening (the initial balance is where the account
    /// starts), closing and a transfer's completion move nothing and are
    /// not listed.
    transactions: Vec<Transaction>,
}

/// How a past state was rebuilt: from which snapshot (taken at or before
/// the point asked for) and how many events on top of it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct RebuiltFrom {
    /// The version of the snapshot the replay started from; null when it
    /// started from the first event.
    snapshot_version: Option<i64>,
    /// Events applied on top of the snapshot (or from the start).
    events_replayed: i64,
}

pub(super) fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getAccount")
        .tag("queries")
        .summary("An account rebuilt from the event store: now, or as it was at a version or an instant")
        .description("Rebuilt from the event store (the latest snapshot plus later events), so it is never behind.

Time travel: with `?version=N` the account after its first N events; with `?asOf=<RFC 3339>` the account as it was at that instant — cut before the first event whose `metadata.timestamp` is later (microsecond precision), so the answer is always a state the account really had. Either is rebuilt from the latest snapshot taken at or before that point (never a later one) plus the events up to it, and the answer adds `rebuiltFrom` (and, for `asOf`, the instant asked for). Who may look is decided by the account as it is now.

Checks in this order: bearer token (401), query string (400), `accountId`, `version` and `asOf` (422), the account exists (404) and belongs to the caller (403; operators may read every account), then the point exists (404).")
        .served_by("command-processor")
        // 200: "The account: now (the `Account` fields and its transactions), or as it was (the same, up to that point, plus `rebuiltFrom`, and `asOf` when asked by time)."
        .refuses_saying(Refusal::BadRequest, "The query string has a parameter other than `version` and `asOf`, or a `version` that is not an integer.")
        .refuses_saying(Refusal::Forbidden, "A user asked for an account owned by someone else (operators may read every account).")
        .refuses_saying(Refusal::NotFound, "No account with this id has been opened; or it has no such `version` yet; or it was not opened yet at `asOf`.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `accountId` is not `^[A-Za-z0-9_-]{1,64}$`; `version` is below 1; `asOf` is not an RFC 3339 timestamp; or both `version` and `asOf` were given (both fields named).")
        .refuses_saying(Refusal::Internal, "Stored data could not be decoded (corrupt event or snapshot); details are only logged.")
        .refuses_saying(Refusal::Unavailable, "The event store is not reachable; retry.")
        .refuses(&[Refusal::Unauthorized])
}

/// Where in the account's history the caller asked to look. Validated
/// before the store is touched: a request that can never be right is 422.
fn point_in_time(q: AccountQuery) -> Result<Option<PointInTime>, ApiProblem> {
    match (q.version, q.as_of) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => {
            let both = "give either version or asOf, not both";
            Err(ApiProblem::invalid(vec![
                FieldError::new("version", both),
                FieldError::new("asOf", both),
            ]))
        }
        (Some(version), None) if version < 1 => Err(ApiProblem::invalid(vec![
            FieldError::new("version", "must be 1 or more"),
        ])),
        (Some(version), None) => Ok(Some(PointInTime::Version(version))),
        // In UTC: PostgreSQL refuses offsets beyond ±15:59 that RFC 3339
        // text can carry, and the instant is the same.
        (None, Some(text)) => OffsetDateTime::parse(&text, &Rfc3339)
            .ok()
            .and_then(|t| t.checked_to_offset(time::UtcOffset::UTC))
            .map(|t| Some(PointInTime::Time(t)))
            .ok_or(())
            .map_err(|()| {
                ApiProblem::invalid(vec![FieldError::new(
                    "asOf",
                    "must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z (write a + offset as %2B)",
                )])
            }),
    }
}

pub(super) async fn account(
    State(state): State<QueryState>,
    caller: Caller,
    Path(path): Path<AccountPath>,
    ValidQuery(q): ValidQuery<AccountQuery>,
) -> Result<Json<AccountAnswer>, ApiProblem> {
    let id = parse_account(path.account_id)?;
    let at = point_in_time(q)?;
    // Who may look is decided by the account as it is now (its owner never
    // changes); a past the account never had is 404, like a missing account.
    let current = visible_account(&state.store, &caller, &id).await?;
    let Some(at) = at else {
        return answer(&state, &current, None, None).await.map(Json);
    };
    if let PointInTime::Version(version) = at
        && version > current.version
    {
        return Err(ApiProblem::not_found(format!(
            "account {id} has no version {version}; its current version is {}",
            current.version
        )));
    }
    let rebuilt = state
        .store
        .load_as_of(&id, at)
        .await
        .map_err(store_problem)?;
    if rebuilt.account.owner().is_none() {
        return Err(ApiProblem::not_found(format!(
            "account {id} did not exist yet at that time"
        )));
    }
    // The account as it was, plus how it was rebuilt — so a reader can see
    // that the snapshot taken at or before the point was used, never a
    // later one.
    let as_of = match at {
        PointInTime::Time(t) => t.format(&Rfc3339).ok(),
        PointInTime::Version(_) => None,
    };
    answer(
        &state,
        &rebuilt.account,
        as_of,
        Some(rebuilt_from(&rebuilt)),
    )
    .await
    .map(Json)
}

fn rebuilt_from(rebuilt: &Rebuilt) -> RebuiltFrom {
    RebuiltFrom {
        snapshot_version: rebuilt.snapshot_version,
        events_replayed: rebuilt.events_replayed,
    }
}

/// The account with its transactions up to its version — the same events
/// its balance was rebuilt from — and how many there are.
async fn answer(
    state: &QueryState,
    account: &Account,
    as_of: Option<String>,
    rebuilt_from: Option<RebuiltFrom>,
) -> Result<AccountAnswer, ApiProblem> {
    let transactions = transactions(&state.store, &account.id, account.version)
        .await
        .map_err(store_problem)?;
    Ok(AccountAnswer {
        account: account_view(account),
        as_of,
        rebuilt_from,
        transaction_count: transactions.len(),
        transactions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(version: Option<i64>, as_of: Option<&str>) -> AccountQuery {
        AccountQuery {
            version,
            as_of: as_of.map(str::to_owned),
        }
    }

    fn refused_fields(q: AccountQuery) -> Vec<String> {
        let problem = point_in_time(q).unwrap_err();
        assert_eq!(problem.status().as_u16(), 422);
        problem.0.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_instant_with_any_offset_is_taken_in_utc() {
        // RFC 3339 allows offsets PostgreSQL refuses (beyond ±15:59).
        let Some(PointInTime::Time(t)) =
            point_in_time(query(None, Some("0001-01-04T11:24:38.5-19:15"))).unwrap()
        else {
            panic!("a time")
        };
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert_eq!((t.day(), t.hour(), t.minute()), (5, 6, 39));
    }

    #[test]
    fn a_version_or_a_time_or_neither() {
        assert_eq!(point_in_time(query(None, None)).unwrap(), None);
        assert_eq!(
            point_in_time(query(Some(3), None)).unwrap(),
            Some(PointInTime::Version(3))
        );
        assert!(matches!(
            point_in_time(query(None, Some("2026-11-22T10:00:00.5+01:00"))).unwrap(),
            Some(PointInTime::Time(t)) if t.unix_timestamp() == 1_795_338_000
        ));
    }

    #[test]
    fn impossible_points_are_refused_naming_the_field() {
        assert_eq!(
            refused_fields(query(Some(1), Some("2026-11-22T10:00:00Z"))),
            ["version", "asOf"]
        );
        assert_eq!(refused_fields(query(Some(0), None)), ["version"]);
        assert_eq!(refused_fields(query(Some(-4), None)), ["version"]);
        for bad in [
            "yesterday",
            "2026-11-22",
            "2026-11-22T10:00:00",
            "2026-11-22 10:00:00 01:00",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(refused_fields(query(None, Some(bad))), ["asOf"], "{bad}");
        }
    }
}
