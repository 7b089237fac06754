//! The balance projector. A batch (a single event is a batch of one) is
//! folded in memory into each account's final row and each owner-day's
//! totals, then written with three set-based statements (new accounts,
//! changed accounts, day totals) whatever the number of events.

use std::collections::{BTreeMap, HashMap};

use ledgerline_contracts::EventEnvelope;
use ledgerline_domain::AccountEvent;
use ledgerline_projection::Projector;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime, UtcOffset};

/// Projects `AccountBalances` (one row per account) and, in the same
/// transaction, `DailySummary` (money in and out per owner, day, currency).
#[derive(Clone)]
pub struct Balances;

impl Projector for Balances {
    const NAME: &'static str = "AccountBalances";
    const DURABLE: &'static str = "balance-service";

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> Result<(), sqlx::Error> {
        apply_batch(tx, events).await
    }
}

/// An account's row after the batch's events.
#[derive(Debug, Default)]
struct Row {
    /// Set when the batch opened the account: (owner, currency).
    opened: Option<(String, String)>,
    balance: Option<i64>,
    closed: bool,
    version: i64,
    updated_at: Option<OffsetDateTime>,
}

/// Money in and out of one owner's day, in one currency.
#[derive(Debug, Default)]
struct Day {
    deposits: i64,
    deposit_count: i64,
    withdrawals: i64,
    withdrawal_count: i64,
}

fn overflow(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{what} overflows i64"))
}

impl Day {
    fn add(&mut self, deposit: bool, amount: i64) -> Result<(), sqlx::Error> {
        let (sum, count) = if deposit {
            (&mut self.deposits, &mut self.deposit_count)
        } else {
            (&mut self.withdrawals, &mut self.withdrawal_count)
        };
        *sum = sum
            .checked_add(amount)
            .ok_or_else(|| overflow("a day's total"))?;
        *count = count
            .checked_add(1)
            .ok_or_else(|| overflow("a day's count"))?;
        Ok(())
    }
}

/// The money an event moves: `Some((true, amount))` into the account.
/// Transfers count as money in and out of the day too.
fn movement(event: &AccountEvent) -> Option<(bool, i64)> {
    match event {
        AccountEvent::MoneyDeposited { amount, .. }
        | AccountEvent::TransferCredited { amount, .. }
        | AccountEvent::TransferRefunded { amount, .. } => Some((true, amount.minor())),
        AccountEvent::MoneyWithdrawn { amount, .. }
        | AccountEvent::TransferDebited { amount, .. } => Some((false, amount.minor())),
        AccountEvent::AccountOpened { .. }
        | AccountEvent::AccountClosed {}
        | AccountEvent::TransferCompleted { .. } => None,
    }
}

/// Folds the batch into rows and days, then writes them.
async fn apply_batch(tx: &mut PgConnection, events: &[EventEnvelope]) -> Result<(), sqlx::Error> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for e in events {
        let row = rows.entry(e.aggregate_id.as_str().to_owned()).or_default();
        match &e.event {
            AccountEvent::AccountOpened {
                owner_id,
                currency,
                initial_balance,
            } => {
                row.opened = Some((owner_id.as_str().to_owned(), currency.as_str().to_owned()));
                row.balance = Some(initial_balance.minor());
            }
            AccountEvent::MoneyDeposited { balance_after, .. }
            | AccountEvent::MoneyWithdrawn { balance_after, .. }
            | AccountEvent::TransferDebited { balance_after, .. }
            | AccountEvent::TransferCredited { balance_after, .. }
            | AccountEvent::TransferRefunded { balance_after, .. } => {
                row.balance = Some(balance_after.minor());
            }
            AccountEvent::AccountClosed {} => {
                row.closed = true;
                row.balance = Some(0);
            }
            AccountEvent::TransferCompleted { .. } => {}
        }
        row.version = e.version;
        row.updated_at = Some(e.metadata.timestamp);
    }

    // Owner and currency of the accounts the batch did not open.
    let known: Vec<String> = rows
        .iter()
        .filter(|(_, r)| r.opened.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let stored: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.account_id, a.owner_id, a.currency FROM unnest($1::text[]) AS t(id)
         CROSS JOIN LATERAL (SELECT account_id, owner_id, currency FROM accounts
                             WHERE account_id = t.id LIMIT 1) AS a",
    )
    .bind(&known)
    .fetch_all(&mut *tx)
    .await?;
    let mut owners: HashMap<String, (String, String)> = stored
        .into_iter()
        .map(|(id, owner, currency)| (id, (owner, currency)))
        .collect();
    for (id, row) in &rows {
        if let Some(opened) = &row.opened {
            owners.insert(id.clone(), opened.clone());
        }
    }
    let mut days: BTreeMap<(String, Date, String), Day> = BTreeMap::new();
    for e in events {
        let (Some((deposit, amount)), Some((owner, currency))) =
            (movement(&e.event), owners.get(e.aggregate_id.as_str()))
        else {
            continue;
        };
        let day = e.metadata.timestamp.to_offset(UtcOffset::UTC).date();
        days.entry((owner.clone(), day, currency.clone()))
            .or_default()
            .add(deposit, amount)?;
    }

    insert_opened(tx, &rows).await?;
    update_existing(tx, &rows).await?;
    add_days(tx, &days).await
}

async fn insert_opened(
    tx: &mut PgConnection,
    rows: &BTreeMap<String, Row>,
) -> Result<(), sqlx::Error> {
    let opened: Vec<(&String, &Row, &(String, String))> = rows
        .iter()
        .filter_map(|(id, r)| r.opened.as_ref().map(|o| (id, r, o)))
        .collect();
    if opened.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO accounts (account_id, owner_id, currency, balance, status, version, updated_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::timestamptz[])",
    )
    .bind(opened.iter().map(|(id, _, _)| (*id).clone()).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, _, (owner, _))| owner.clone()).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, _, (_, currency))| currency.clone()).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, r, _)| r.balance.unwrap_or(0)).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, r, _)| if r.closed { "closed" } else { "open" }.to_owned()).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, r, _)| r.version).collect::<Vec<_>>())
    .bind(opened.iter().map(|(_, r, _)| r.updated_at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

async fn update_existing(
    tx: &mut PgConnection,
    rows: &BTreeMap<String, Row>,
) -> Result<(), sqlx::Error> {
    let changed: Vec<(&String, &Row)> = rows.iter().filter(|(_, r)| r.opened.is_none()).collect();
    if changed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE accounts SET
             balance = coalesce(t.balance, accounts.balance),
             status = CASE WHEN t.closed THEN 'closed' ELSE accounts.status END,
             version = t.version,
             updated_at = t.updated_at
         FROM unnest($1::text[], $2::bigint[], $3::bool[], $4::bigint[], $5::timestamptz[])
              AS t(account_id, balance, closed, version, updated_at)
         WHERE accounts.account_id = t.account_id",
    )
    .bind(
        changed
            .iter()
            .map(|(id, _)| (*id).clone())
            .collect::<Vec<_>>(),
    )
    .bind(changed.iter().map(|(_, r)| r.balance).collect::<Vec<_>>())
    .bind(changed.iter().map(|(_, r)| r.closed).collect::<Vec<_>>())
    .bind(changed.iter().map(|(_, r)| r.version).collect::<Vec<_>>())
    .bind(
        changed
            .iter()
            .map(|(_, r)| r.updated_at)
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

async fn add_days(
    tx: &mut PgConnection,
    days: &BTreeMap<(String, Date, String), Day>,
) -> Result<(), sqlx::Error> {
    if days.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO daily_summary (owner_id, day, currency, deposits, deposit_count, withdrawals, withdrawal_count)
         SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
         ON CONFLICT (owner_id, day, currency) DO UPDATE SET
             deposits = daily_summary.deposits + EXCLUDED.deposits,
             deposit_count = daily_summary.deposit_count + EXCLUDED.deposit_count,
             withdrawals = daily_summary.withdrawals + EXCLUDED.withdrawals,
             withdrawal_count = daily_summary.withdrawal_count + EXCLUDED.withdrawal_count",
    )
    .bind(days.keys().map(|(owner, _, _)| owner.clone()).collect::<Vec<_>>())
    .bind(days.keys().map(|(_, day, _)| *day).collect::<Vec<_>>())
    .bind(days.keys().map(|(_, _, currency)| currency.clone()).collect::<Vec<_>>())
    .bind(days.values().map(|d| d.deposits).collect::<Vec<_>>())
    .bind(days.values().map(|d| d.deposit_count).collect::<Vec<_>>())
    .bind(days.values().map(|d| d.withdrawals).collect::<Vec<_>>())
    .bind(days.values().map(|d| d.withdrawal_count).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await
    .map(|_| ())
}
