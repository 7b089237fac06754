//! `GET /projections/DailySummary?from=YYYY-MM-DD&to=YYYY-MM-DD`: the
//! caller's money in and out per UTC day and currency, oldest day first.

use std::collections::BTreeMap;

use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use ledgerline_auth::Caller;
use ledgerline_contracts::FieldError;
use ledgerline_domain::{Balance, Currency, SignedMajor};
use ledgerline_runtime::api_doc::{OperationDocs, Refusal};
use ledgerline_runtime::{ApiProblem, ValidQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use super::{BalanceState, read_failed};

/// Kept by the AccountBalances projector, in the same transaction.
pub(super) const DAILY_SUMMARY: &str = "DailySummary";

const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DailySummaryQuery {
    /// First day included (UTC), exactly `YYYY-MM-DD` (a real calendar
    /// day). Not after `to`.
    #[schemars(extend("format" = "date", "pattern" = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    from: Option<String>,
    /// Last day included (UTC), exactly `YYYY-MM-DD`.
    #[schemars(extend("format" = "date", "pattern" = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    to: Option<String>,
}

/// The caller's days, and their totals.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct DailySummary {
    /// Always `DailySummary`.
    name: &'static str,
    /// `from` as asked; null when absent.
    from: Option<String>,
    /// `to` as asked; null when absent.
    to: Option<String>,
    /// One row per day and currency, oldest day first, then by currency.
    items: Vec<Day>,
    data: SummaryData,
}

/// The answered days' totals.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct SummaryData {
    /// The totals when the days hold one currency (zeros, currency null,
    /// when no day is answered); null when they hold several.
    summary: Option<Totals>,
    /// The totals per currency, by currency code.
    by_currency: Vec<Totals>,
}

pub(super) fn doc(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op
        .id("getDailySummary")
        .tag("projections")
        .summary("The caller's money in and out per UTC day and currency (read model)")
        .description("One row per day (UTC, of the event's `metadata.timestamp`) and currency in which the caller's accounts had deposits or withdrawals, oldest day first, then by currency. Initial balances of `AccountOpened` are not counted. Written by the AccountBalances projector in the same transaction as the balance, so it shares that read model's checkpoint (a database migrated from before this read model counts only events projected afterwards). Unlike AccountBalances and TransactionHistory, the body carries no status fields: see `GET /projections/AccountBalances`. `data` totals the answered days: `data.byCurrency` per currency, and `data.summary` (the showcase's name) the one currency's totals — zeros with currency null when no day is answered, null when the days hold several currencies, since money of two currencies is never added.")
        .served_by("balance-service")
        .response_with::<200, Json<DailySummary>, _>(|r| r.description("The caller's days."))
        .refuses_saying(Refusal::BadRequest, "The query string has a parameter other than `from` and `to`.")
        .refuses_saying(Refusal::Unprocessable, "`invalid-body`: `from` or `to` is not a day written `YYYY-MM-DD` (each wrong one named), or `from` is after `to` (field `from`).")
        .refuses_saying(Refusal::Unavailable, "The read model could not be read.")
        .refuses(&[Refusal::Unauthorized])
}

fn parse_day(field: &str, text: Option<String>) -> Result<Option<Date>, FieldError> {
    let Some(text) = text else { return Ok(None) };
    // Exactly YYYY-MM-DD: no signs, no short fields, a real calendar day.
    let day = (text.len() == 10)
        .then(|| Date::parse(&text, DAY).ok())
        .flatten()
        .ok_or_else(|| FieldError::new(field, "must be a day written YYYY-MM-DD"))?;
    Ok(Some(day))
}

/// The days asked for, or the fields that are wrong.
fn day_range(q: DailySummaryQuery) -> Result<(Option<Date>, Option<Date>), ApiProblem> {
    let (from, to) = (parse_day("from", q.from), parse_day("to", q.to));
    let errors: Vec<FieldError> = [&from, &to]
        .into_iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect();
    match (from, to) {
        (Ok(Some(from)), Ok(Some(to))) if from > to => {
            Err(ApiProblem::invalid(vec![FieldError::new(
                "from",
                "must not be after to",
            )]))
        }
        (Ok(from), Ok(to)) => Ok((from, to)),
        _ => Err(ApiProblem::invalid(errors)),
    }
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: Date,
    currency: String,
    deposits: i64,
    withdrawals: i64,
    net_change: i64,
    deposit_count: i64,
    withdrawal_count: i64,
}

/// One day in one currency. Amounts in major units; `netChange` =
/// deposits − withdrawals.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "DailySummaryDay")]
struct Day {
    /// `YYYY-MM-DD` (UTC).
    #[schemars(extend("format" = "date"))]
    day: String,
    #[schemars(with = "Currency")]
    currency: String,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    deposits: i64,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    withdrawals: i64,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "SignedMajor")]
    net_change: i64,
    deposit_count: i64,
    withdrawal_count: i64,
}

fn format_day(day: Date) -> Result<String, ApiProblem> {
    day.format(DAY).map_err(ApiProblem::internal)
}

pub(super) async fn daily_summary(
    State(state): State<BalanceState>,
    caller: Caller,
    ValidQuery(q): ValidQuery<DailySummaryQuery>,
) -> Result<Json<DailySummary>, ApiProblem> {
    let (from, to) = day_range(q)?;
    // The difference is BIGINT arithmetic, checked by PostgreSQL: it can
    // only fail, never wrap (and with both sums >= 0 it cannot overflow).
    let rows: Vec<DayRow> = sqlx::query_as(
        "SELECT day, currency, deposits, withdrawals, deposits - withdrawals AS net_change,
                deposit_count, withdrawal_count
         FROM daily_summary
         WHERE owner_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
         ORDER BY day, currency",
    )
    .bind(caller.user_id.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(&state.db.pool())
    .await
    .map_err(read_failed("the daily summary"))?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(Day {
                day: format_day(r.day)?,
                currency: r.currency,
                deposits: r.deposits,
                withdrawals: r.withdrawals,
                net_change: r.net_change,
                deposit_count: r.deposit_count,
                withdrawal_count: r.withdrawal_count,
            })
        })
        .collect::<Result<Vec<_>, ApiProblem>>()?;
    let by_currency = totals_by_currency(&items)?;
    Ok(Json(DailySummary {
        name: DAILY_SUMMARY,
        from: from.map(format_day).transpose()?,
        to: to.map(format_day).transpose()?,
        items,
        data: SummaryData {
            summary: summary(&by_currency).cloned(),
            by_currency,
        },
    }))
}

/// The answered days' totals in one currency (amounts in major units).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "DailySummaryTotals")]
struct Totals {
    #[schemars(with = "Option<Currency>")]
    currency: Option<String>,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    deposits: i64,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "Balance")]
    withdrawals: i64,
    #[serde(serialize_with = "ledgerline_domain::as_major")]
    #[schemars(with = "SignedMajor")]
    net_change: i64,
    deposit_count: i64,
    withdrawal_count: i64,
}

impl Totals {
    fn add(&mut self, day: &Day) -> Option<()> {
        self.deposits = self.deposits.checked_add(day.deposits)?;
        self.withdrawals = self.withdrawals.checked_add(day.withdrawals)?;
        self.net_change = self.net_change.checked_add(day.net_change)?;
        self.deposit_count = self.deposit_count.checked_add(day.deposit_count)?;
        self.withdrawal_count = self.withdrawal_count.checked_add(day.withdrawal_count)?;
        Some(())
    }
}

/// The days' totals per currency, by currency code.
fn totals_by_currency(days: &[Day]) -> Result<Vec<Totals>, ApiProblem> {
    let mut totals: BTreeMap<&str, Totals> = BTreeMap::new();
    for day in days {
        let entry = totals.entry(&day.currency).or_insert_with(|| Totals {
            currency: Some(day.currency.clone()),
            ..Totals::default()
        });
        entry
            .add(day)
            .ok_or_else(|| ApiProblem::internal("the daily totals overflow i64"))?;
    }
    Ok(totals.into_values().collect())
}

/// `data.summary`: the totals over the range when it holds one currency
/// (zeros, currency `null`, when it holds none); `null` when it holds
/// several, since adding money of two currencies means nothing — then
/// `data.byCurrency` has each.
fn summary(by_currency: &[Totals]) -> Option<&Totals> {
    const NONE: &Totals = &Totals {
        currency: None,
        deposits: 0,
        withdrawals: 0,
        net_change: 0,
        deposit_count: 0,
        withdrawal_count: 0,
    };
    match by_currency {
        [] => Some(NONE),
        [one] => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;

    fn range(
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(Option<Date>, Option<Date>), Vec<String>> {
        day_range(DailySummaryQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        })
        .map_err(|p| {
            assert_eq!(p.status().as_u16(), 422);
            p.0.errors.into_iter().map(|e| e.field).collect()
        })
    }

    fn day(currency: &str, deposits: i64, withdrawals: i64) -> Day {
        Day {
            day: "2026-11-22".into(),
            currency: currency.into(),
            deposits,
            withdrawals,
            net_change: deposits - withdrawals,
            deposit_count: 1,
            withdrawal_count: 1,
        }
    }

    #[test]
    fn the_summary_adds_up_the_days_of_one_currency_in_major_units() {
        let totals =
            totals_by_currency(&[day("EUR", 50_000, 20_000), day("EUR", 100, 300)]).unwrap();
        assert_eq!(
            serde_json::to_value(summary(&totals)).unwrap(),
            json!({"currency": "EUR", "deposits": "501.00", "withdrawals": "203.00",
                   "netChange": "298.00", "depositCount": 2, "withdrawalCount": 2})
        );
        let none = totals_by_currency(&[]).unwrap();
        assert_eq!(summary(&none).unwrap().deposits, 0);
    }

    #[test]
    fn two_currencies_are_never_added_together() {
        let totals = totals_by_currency(&[day("EUR", 100, 0), day("USD", 200, 0)]).unwrap();
        assert_eq!(summary(&totals), None);
        assert_eq!(totals.len(), 2);
    }

    #[test]
    fn days_are_optional_inclusive_and_ordered() {
        assert_eq!(range(None, None), Ok((None, None)));
        assert_eq!(
            range(Some("2026-11-01"), Some("2026-11-01")),
            Ok((Some(date!(2026 - 11 - 01)), Some(date!(2026 - 11 - 01))))
        );
        assert_eq!(
            range(None, Some("2024-02-29")),
            Ok((None, Some(date!(2024 - 02 - 29))))
        );
        assert_eq!(
            range(Some("2026-11-02"), Some("2026-11-01")),
            Err(vec!["from".to_owned()])
        );
    }

    #[test]
    fn anything_but_a_real_yyyy_mm_dd_day_is_refused_naming_the_field() {
        for bad in [
            "2026-1-05",
            "2026-02-30",
            "2025-02-29",
            "26-11-01",
            "+2026-11-01",
            "2026-11-01T00:00:00Z",
            "2026/11/01",
            "",
            "today",
            "2026-11-01 ",
        ] {
            assert_eq!(
                range(Some(bad), None),
                Err(vec!["from".to_owned()]),
                "{bad:?}"
            );
        }
        assert_eq!(
            range(Some("x"), Some("y")),
            Err(vec!["from".to_owned(), "to".to_owned()])
        );
    }
}
