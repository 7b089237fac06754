//! `GET /projections/AccountBalances?after=&limit=`: the caller's accounts
//! and balances, a page at a time in account-id order, beside the read
//! model's status. A page is bounded (issue 11): 300 accounts are three
//! answers, not one huge one; `Link: <…>; rel="next"` (RFC 8288) names the
//! next page while there is one.

use std::collections::BTreeMap;

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::header::LINK;
use axum::http::{HeaderMap, HeaderValue};
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::{AccountId, Balance, Currency, UserId};
use ledgerline_projection::tuning::ACCOUNT_BALANCES_PAGE;
use ledgerline_projection::{ProjectionView, Projector, local_view};
use ledgerline_runtime::api_doc::{OperationDocs, Refusal, with_next_link};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{BalanceState, read_failed};
use crate::Balances;

const PATH: &str = "/projections/AccountBalances";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct BalancesQuery {
    /// Read-your-writes: answer once the read model has applied the event
    /// at this global position (a status envelope's `position`; 0 waits
    /// for nothing), or 503 with `Retry-After` after 3 s; 404 if no event
    /// has this position.
    #[schemars(range(min = 0))]
    min_position: Option<i64>,
    /// Only accounts whose id sorts after this one: the last `accountId` of
    /// the previous page (the `Link` header carries it).
    #[schemars(with = "Option<AccountId>")]
    after: Option<String>,
    /// Accounts per page (default 100). Read as text, so that a bad value
    /// is a 422 naming the field, as every other invalid value is, not a
    /// 400 from the query parser.
    #[schemars(with = "Option<i64>", range(min = 1, max = ACCOUNT_BALANCES_PAGE.max))]
    limit: Option<String>,
}

/// The caller's balances, beside the read model's status.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountBalances {
    #[serde(flatten)]
    view: ProjectionView,
    /// The showcase's name for `checkpoint`.
    last_processed_event: Option<i64>,
    /// The showcase's name for `eventsApplied`.
    last_processed_version: Option<i64>,
    /// The page's balances by account id.
    data: BalancesData,
    /// The page's accounts, by account id.
    items: Vec<AccountBalance>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct BalancesData {
    balances: BTreeMap<String, BalanceEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct BalanceEntry {
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    balance: i64,
    /// When the row last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    last_updated: String,
}

pub(super) fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getAccountBalances")
        .tag("projections")
        .summary("The caller's accounts and balances (read model), a page at a time")
        .description(r#"The accounts the caller owns, ordered by `accountId`, a page at a time (default 100, at most 500), as projected from `bank.evt.>` (eventually consistent; compare `version` with the status envelope's events). While more accounts follow, the answer carries `Link: </projections/AccountBalances?after=…&limit=…>; rel="next"` (RFC 8288): follow it until an answer has no `Link`. The body carries the read model's status beside `items` — the same fields as `GET /projections/AuditLog` — read from this service's own checkpoint; `lag` needs the store head from the command processor (`bank.rpc.store-head`, waited for at most 300 ms) and is null without it. Beside them, the event-sourcing showcase's names for the same facts: `lastProcessedEvent` (= `checkpoint`), `lastProcessedVersion` (= `eventsApplied`) and `data.balances`, the page's balances by account id."#)
        .served_by("balance-service")
        .response_with::<200, Json<AccountBalances>, _>(|r| {
            with_next_link(
                r.description("The caller's balances, and the read model's status."),
                r#"</projections/AccountBalances?after=acc-099&limit=100>; rel="next""#,
            )
        })
        .refuses_saying(Refusal::BadRequest, "The query string has an unknown parameter, or `minPosition` is not an integer.")
        .refuses_saying(Refusal::NotFound, "No event has position `minPosition` (none appeared there within 3 s: it is past the log's head, or a gap), so the read model can never reach it.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `after` is not `^[A-Za-z0-9_-]{1,64}$`, or `limit` is not a whole number from 1 to 500 (each wrong field named), or `minPosition` is negative.")
        .refuses_saying(Refusal::Unavailable, "The read model, or its checkpoint, could not be read; or it had not applied `minPosition` within 3 s.")
        .refuses(&[Refusal::Unauthorized])
}

/// Where a page starts and how long it is.
#[derive(Debug, PartialEq, Eq)]
struct Page {
    after: Option<AccountId>,
    limit: i64,
}

impl Page {
    fn parse(after: Option<String>, limit: Option<String>) -> Result<Self, ApiProblem> {
        let after = after
            .map(AccountId::parse)
            .transpose()
            .map_err(|e| FieldError::new("after", e));
        let limit = match limit.as_deref().map(str::parse::<i64>) {
            None => Ok(ACCOUNT_BALANCES_PAGE.default),
            Some(Ok(n)) if (1..=ACCOUNT_BALANCES_PAGE.max).contains(&n) => Ok(n),
            Some(_) => Err(FieldError::new(
                "limit",
                format!(
                    "must be a whole number from 1 to {}",
                    ACCOUNT_BALANCES_PAGE.max
                ),
            )),
        };
        match (after, limit) {
            (Ok(after), Ok(limit)) => Ok(Self { after, limit }),
            (after, limit) => Err(ApiProblem::invalid(
                [after.err(), limit.err()].into_iter().flatten().collect(),
            )),
        }
    }

    /// The `Link` to the page after one that ended with `last`.
    fn next_link(&self, last: &str) -> Option<HeaderValue> {
        ledgerline_runtime::next_link(&format!("{PATH}?after={last}&limit={}", self.limit))
    }
}

/// One account as the read model holds it.
#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct AccountBalance {
    #[schemars(with = "AccountId")]
    account_id: String,
    #[schemars(with = "UserId")]
    owner_id: String,
    #[schemars(with = "Currency")]
    currency: String,
    /// Minor units, written out in major units.
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    balance: i64,
    /// `open` or `closed`.
    status: String,
    /// The account's version this row reflects.
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    updated_at: OffsetDateTime,
}

/// The caller's accounts and balances, with the read model's status (the
/// same fields `GET /projections/{name}` has for the others).
pub(super) async fn account_balances(
    State(state): State<BalanceState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<BalancesQuery>,
) -> Result<(HeaderMap, Json<AccountBalances>), ApiProblem> {
    let page = Page::parse(q.after, q.limit)?;
    let pool = state.db.pool();
    let min = ledgerline_projection::min_position(q.min_position)?;
    ledgerline_projection::wait_for_position(state.sources.store.as_ref(), &pool, min).await?;
    // One row more than the page: whether it exists says if a next page
    // does, without an empty last page.
    let (view, rows) = tokio::join!(
        local_view(state.sources.store.as_ref(), &state.db, Balances::NAME),
        sqlx::query_as::<_, AccountBalance>(
            "SELECT account_id, owner_id, currency, balance, status, version, updated_at
             FROM accounts
             WHERE owner_id = $1 AND ($2::text IS NULL OR account_id > $2)
             ORDER BY account_id LIMIT $3",
        )
        .bind(caller.user_id.as_str())
        .bind(page.after.as_ref().map(AccountId::as_str))
        .bind(page.limit + 1)
        .fetch_all(&pool)
    );
    let view = view.map_err(read_failed("the projection status"))?;
    let mut items = rows.map_err(read_failed("balances"))?;
    let mut headers = HeaderMap::new();
    if items.len() as i64 > page.limit {
        items.truncate(page.limit as usize);
        if let Some(link) = items
            .last()
            .and_then(|last| page.next_link(&last.account_id))
        {
            headers.insert(LINK, link);
        }
    }
    // The event-sourcing showcase's names for the same facts: the last
    // global position applied, how many events that took (the read model's
    // own version), and the page's balances by account id.
    let balances = balances_by_account(&items)?;
    Ok((
        headers,
        Json(AccountBalances {
            last_processed_event: view.checkpoint,
            last_processed_version: view.events_applied,
            view,
            data: BalancesData { balances },
            items,
        }),
    ))
}

/// `{<accountId>: {balance, lastUpdated}}` for the rows of a page.
fn balances_by_account(
    items: &[AccountBalance],
) -> Result<BTreeMap<String, BalanceEntry>, ApiProblem> {
    items
        .iter()
        .map(|row| {
            let updated = row
                .updated_at
                .format(&Rfc3339)
                .map_err(ApiProblem::internal)?;
            let entry = BalanceEntry {
                balance: row.balance,
                last_updated: updated,
            };
            Ok((row.account_id.clone(), entry))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(after: Option<&str>, limit: Option<&str>) -> Result<Page, ApiProblem> {
        Page::parse(after.map(str::to_owned), limit.map(str::to_owned))
    }

    #[test]
    fn a_page_is_100_accounts_unless_asked_for_1_to_500() {
        assert_eq!(parse(None, None).unwrap().limit, 100);
        assert_eq!(parse(None, Some("500")).unwrap().limit, 500);
        assert_eq!(parse(None, Some("1")).unwrap().limit, 1);
        for bad in ["0", "501", "-1", "abc", "1.5", "", " 5"] {
            let problem = parse(None, Some(bad)).err().unwrap();
            assert_eq!(problem.status().as_u16(), 422, "{bad}");
        }
    }

    #[test]
    fn both_bad_fields_are_named_at_once() {
        let problem = parse(Some("a.b"), Some("0")).err().unwrap();
        let fields: Vec<&str> = problem.0.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["after", "limit"]);
    }

    #[test]
    fn balances_are_keyed_by_account_in_major_units() {
        let row = AccountBalance {
            account_id: "acc-999".into(),
            owner_id: "alice".into(),
            currency: "EUR".into(),
            balance: 130_000,
            status: "open".into(),
            version: 3,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(
            serde_json::to_value(balances_by_account(&[row]).unwrap()).unwrap(),
            serde_json::json!({"acc-999": {"balance": "1300.00", "lastUpdated": "1970-01-01T00:00:00Z"}})
        );
    }

    #[test]
    fn the_next_link_continues_after_the_last_account_with_the_same_limit() {
        let page = parse(Some("acc-1"), Some("2")).unwrap();
        assert_eq!(
            page.next_link("acc-9").unwrap(),
            r#"</projections/AccountBalances?after=acc-9&limit=2>; rel="next""#
        );
    }
}
