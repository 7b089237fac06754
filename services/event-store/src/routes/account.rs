//! `GET /queries/account/{id}`: the account rebuilt from its events — as it
//! is now, or, with `?version=N` or `?asOf=<RFC 3339>`, as it was then.

use axum::Json;
use axum::extract::{Path, State};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::Account;
use ledgerline_runtime::{ApiProblem, ValidQuery};
use ledgerline_store::{EventStore, PointInTime, Rebuilt};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::transactions::transactions;
use super::{QueryState, account_json, parse_account, store_problem, visible_account};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AccountQuery {
    /// The account after its first `version` events (1 = just opened).
    version: Option<i64>,
    /// The account as it was at this instant (RFC 3339; in a URL a `+`
    /// offset must be written `%2B`).
    as_of: Option<String>,
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
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<AccountQuery>,
) -> Result<Json<Value>, ApiProblem> {
    let id = parse_account(id)?;
    let at = point_in_time(q)?;
    // Who may look is decided by the account as it is now (its owner never
    // changes); a past the account never had is 404, like a missing account.
    let current = visible_account(&state.store, &caller, &id).await?;
    let Some(at) = at else {
        let body = account_json(&current);
        return with_transactions(&state, body, &current).await.map(Json);
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
    let body = as_of_json(&rebuilt, at);
    with_transactions(&state, body, &rebuilt.account)
        .await
        .map(Json)
}

/// `body` with the account's transactions up to its version — the same
/// events its balance was rebuilt from — and how many there are.
async fn with_transactions(
    state: &QueryState,
    mut body: Value,
    account: &Account,
) -> Result<Value, ApiProblem> {
    let found = transactions(&state.store, &account.id, account.version)
        .await
        .map_err(store_problem)?;
    body["transactionCount"] = json!(found.len());
    body["transactions"] = serde_json::to_value(found).map_err(ApiProblem::internal)?;
    Ok(body)
}

/// The account as it was, plus how it was rebuilt — so a reader can see
/// that the snapshot taken at or before the point was used, never a later one.
fn as_of_json(rebuilt: &Rebuilt, at: PointInTime) -> Value {
    let mut body = account_json(&rebuilt.account);
    if let PointInTime::Time(t) = at {
        body["asOf"] = json!(t.format(&Rfc3339).ok());
    }
    body["rebuiltFrom"] = json!({
        "snapshotVersion": rebuilt.snapshot_version,
        "eventsReplayed": rebuilt.events_replayed,
    });
    body
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
