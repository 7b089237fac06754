#![allow(clippy::unwrap_used)]
//! The balance projector against the balances and daily totals its events
//! must give: opens, deposits, withdrawals, every transfer step and a
//! close, over three days and two currencies, applied in batches of 37 and
//! one event at a time (a batch of one, as the runner retries an event on
//! its own), on the real PostgreSQL.

use std::collections::BTreeMap;

use balance_service::Balances;
use ledgerline_contracts::{EventEnvelope, EventMetadata};
use ledgerline_domain::{AccountEvent, AccountId, Amount, Balance, Currency, UserId};
use ledgerline_projection::Projector;
use ledgerline_testkit::TestDatabase;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// A deterministic sequence (no seeded-RNG dependency for one test).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 33) % below
    }
}

/// A row of `accounts`: id, owner, currency, balance, status, version, updated_at.
type AccountRow = (String, String, String, i64, String, i64, OffsetDateTime);
/// A row of `daily_summary`: owner, day, currency, deposits, deposit_count,
/// withdrawals, withdrawal_count.
type DayRow = (String, Date, String, i64, i64, i64, i64);

/// What the events must leave behind, written down as they are made.
#[derive(Default)]
struct Expected {
    accounts: BTreeMap<String, AccountRow>,
    days: BTreeMap<(String, Date, String), DayRow>,
}

impl Expected {
    fn opened(&mut self, e: &EventEnvelope, owner: &str, currency: &str, balance: i64) {
        let id = e.aggregate_id.as_str().to_owned();
        let row = (
            id.clone(),
            owner.to_owned(),
            currency.to_owned(),
            balance,
            "open".to_owned(),
            e.version,
            e.metadata.timestamp,
        );
        self.accounts.insert(id, row);
    }

    /// The account after `e`: its balance, whether it is closed, and the
    /// money that moved (`true`: in) — counted on its owner's day.
    fn after(&mut self, e: &EventEnvelope, balance: i64, closed: bool, money: Option<(bool, i64)>) {
        let row = self.accounts.get_mut(e.aggregate_id.as_str()).unwrap();
        row.3 = balance;
        if closed {
            row.4 = "closed".to_owned();
        }
        row.5 = e.version;
        row.6 = e.metadata.timestamp;
        let Some((deposit, amount)) = money else {
            return;
        };
        let (owner, currency) = (row.1.clone(), row.2.clone());
        let day = e.metadata.timestamp.to_offset(UtcOffset::UTC).date();
        let totals = self
            .days
            .entry((owner.clone(), day, currency.clone()))
            .or_insert((owner, day, currency, 0, 0, 0, 0));
        if deposit {
            totals.3 += amount;
            totals.4 += 1;
        } else {
            totals.5 += amount;
            totals.6 += 1;
        }
    }

    fn tables(&self) -> (Vec<AccountRow>, Vec<DayRow>) {
        (
            self.accounts.values().cloned().collect(),
            self.days.values().cloned().collect(),
        )
    }
}

fn history() -> (Vec<EventEnvelope>, Expected) {
    let mut rng = Lcg(42);
    // Whole microseconds, as PostgreSQL keeps them.
    let now = OffsetDateTime::now_utc();
    let start = now
        .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap()
        - Duration::days(3);
    let mut accounts: Vec<(AccountId, i64, i64, bool)> = Vec::new(); // id, version, balance, closed
    let mut events = Vec::new();
    let mut expected = Expected::default();
    let envelope =
        |account: &AccountId, version: i64, event: AccountEvent, n: usize| EventEnvelope {
            event_id: Uuid::now_v7(),
            aggregate_type: "Account".into(),
            aggregate_id: account.clone(),
            version,
            global_position: n as i64 + 1,
            schema_version: event.schema_version(),
            event,
            metadata: EventMetadata {
                command_id: Uuid::now_v7(),
                correlation_id: Uuid::now_v7(),
                user_id: UserId::parse("alice").unwrap(),
                timestamp: start + Duration::minutes(10 * n as i64),
                traceparent: None,
            },
        };
    for a in 0..12 {
        let id = AccountId::parse(format!("acc-{a}")).unwrap();
        let owner = if a % 2 == 0 { "alice" } else { "bob" };
        let currency = if a % 3 == 0 { "USD" } else { "EUR" };
        let event = AccountEvent::AccountOpened {
            owner_id: UserId::parse(owner).unwrap(),
            currency: Currency::parse(currency).unwrap(),
            initial_balance: Balance::from_minor(1_000).unwrap(),
        };
        let e = envelope(&id, 1, event, events.len());
        expected.opened(&e, owner, currency, 1_000);
        events.push(e);
        accounts.push((id, 1, 1_000, false));
    }
    for _ in 0..400 {
        let i = rng.next(accounts.len() as u64) as usize;
        let (id, version, balance, closed) = accounts[i].clone();
        if closed {
            continue;
        }
        let amount = rng.next(300) as i64 + 1;
        let other = AccountId::parse("acc-elsewhere").unwrap();
        let (event, after) = match rng.next(7) {
            0 | 1 => (
                AccountEvent::MoneyDeposited {
                    amount: Amount::from_minor(amount).unwrap(),
                    balance_after: Balance::from_minor(balance + amount).unwrap(),
                    reference: None,
                },
                balance + amount,
            ),
            2 if balance >= amount => (
                AccountEvent::MoneyWithdrawn {
                    amount: Amount::from_minor(amount).unwrap(),
                    balance_after: Balance::from_minor(balance - amount).unwrap(),
                },
                balance - amount,
            ),
            3 if balance >= amount => (
                AccountEvent::TransferDebited {
                    to_account_id: other,
                    amount: Amount::from_minor(amount).unwrap(),
                    currency: Currency::parse("EUR").unwrap(),
                    balance_after: Balance::from_minor(balance - amount).unwrap(),
                },
                balance - amount,
            ),
            4 => (
                AccountEvent::TransferCompleted {
                    to_account_id: other,
                    amount: Amount::from_minor(amount).unwrap(),
                },
                balance,
            ),
            5 => (
                AccountEvent::TransferCredited {
                    from_account_id: other,
                    amount: Amount::from_minor(amount).unwrap(),
                    balance_after: Balance::from_minor(balance + amount).unwrap(),
                },
                balance + amount,
            ),
            _ => (
                AccountEvent::TransferRefunded {
                    to_account_id: other,
                    amount: Amount::from_minor(amount).unwrap(),
                    balance_after: Balance::from_minor(balance + amount).unwrap(),
                },
                balance + amount,
            ),
        };
        // The money that moved, in or out, is the change of balance:
        // transfers count as money in and out of the day too.
        let money = (after != balance).then(|| (after > balance, (after - balance).abs()));
        let e = envelope(&id, version + 1, event, events.len());
        expected.after(&e, after, false, money);
        events.push(e);
        accounts[i] = (id, version + 1, after, false);
    }
    let (id, version, _, _) = accounts[5].clone();
    let e = envelope(
        &id,
        version + 1,
        AccountEvent::AccountClosed {},
        events.len(),
    );
    expected.after(&e, 0, true, None);
    events.push(e);
    (events, expected)
}

async fn tables(pool: &PgPool, schema: &str) -> (Vec<AccountRow>, Vec<DayRow>) {
    let accounts = format!(
        "SELECT account_id, owner_id, currency, balance, status, version, updated_at
         FROM {schema}.accounts"
    );
    let days = format!(
        "SELECT owner_id, day, currency, deposits, deposit_count, withdrawals, withdrawal_count
         FROM {schema}.daily_summary"
    );
    (sorted(pool, accounts).await, sorted(pool, days).await)
}

/// Every row `sql` reads, sorted.
async fn sorted<T>(pool: &PgPool, sql: String) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + Ord,
{
    let mut rows: Vec<T> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_single_events_give_the_expected_balances_and_daily_totals() {
    let db = TestDatabase::create("test_balances").await;
    let one = db.schema("one_by_one", &MIGRATOR, 2).await;
    let set = db.schema("set_based", &MIGRATOR, 2).await;
    let (events, expected) = history();

    for event in &events {
        let mut tx = one.begin().await.unwrap();
        Balances
            .apply(&mut tx, std::slice::from_ref(event))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    for batch in events.chunks(37) {
        let mut tx = set.begin().await.unwrap();
        Balances.apply(&mut tx, batch).await.unwrap();
        tx.commit().await.unwrap();
    }

    let expected = expected.tables();
    assert_eq!(expected.0.len(), 12);
    assert!(expected.1.len() >= 6, "{:?}", expected.1);
    assert!(expected.0.iter().any(|row| row.4 == "closed"));
    assert_eq!(tables(&one, "one_by_one").await, expected);
    assert_eq!(tables(&set, "set_based").await, expected);

    one.close().await;
    set.close().await;
}
