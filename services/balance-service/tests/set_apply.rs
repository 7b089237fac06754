#![allow(clippy::unwrap_used)]
//! The balance projector's set-based `apply_all` against its one-event
//! `apply`: the same events (opens, deposits, withdrawals, every transfer
//! step, a close, over three days and two currencies) give the same
//! AccountBalances and DailySummary rows, on the real PostgreSQL.

use balance_service::Balances;
use ledgerline_contracts::{EventEnvelope, EventMetadata};
use ledgerline_domain::{AccountEvent, AccountId, Amount, Balance, Currency, UserId};
use ledgerline_projection::Projector;
use ledgerline_runtime::{Config, connect_schema, ensure_database};
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgPool};
use time::{Duration, OffsetDateTime};
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

fn history() -> Vec<EventEnvelope> {
    let mut rng = Lcg(42);
    let start = OffsetDateTime::now_utc() - Duration::days(3);
    let mut accounts: Vec<(AccountId, i64, i64, bool)> = Vec::new(); // id, version, balance, closed
    let mut events = Vec::new();
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
        let event = AccountEvent::AccountOpened {
            owner_id: UserId::parse(if a % 2 == 0 { "alice" } else { "bob" }).unwrap(),
            currency: Currency::parse(if a % 3 == 0 { "USD" } else { "EUR" }).unwrap(),
            initial_balance: Balance::from_minor(1_000).unwrap(),
        };
        events.push(envelope(&id, 1, event, events.len()));
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
        let (event, balance) = match rng.next(7) {
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
        events.push(envelope(&id, version + 1, event, events.len()));
        accounts[i] = (id, version + 1, balance, false);
    }
    let (id, version, _, _) = accounts[5].clone();
    events.push(envelope(
        &id,
        version + 1,
        AccountEvent::AccountClosed {},
        events.len(),
    ));
    events
}

async fn tables(pool: &PgPool, schema: &str) -> (Vec<String>, Vec<String>) {
    let accounts = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT concat_ws('|', account_id, owner_id, currency, balance, status, version, updated_at)
         FROM {schema}.accounts ORDER BY account_id"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let days = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT concat_ws('|', owner_id, day, currency, deposits, deposit_count, withdrawals, withdrawal_count)
         FROM {schema}.daily_summary ORDER BY owner_id, day, currency"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    (accounts, days)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folding_a_batch_gives_the_rows_applying_each_event_gives() {
    let config = Config::from_env().unwrap();
    let (server, _) = config.database_url.rsplit_once('/').unwrap();
    let name = format!("ll_test_balances_{}", Uuid::now_v7().simple());
    let url = format!("{server}/{name}");
    ensure_database(&url).await.unwrap();
    let one = connect_schema(&url, "one_by_one", &MIGRATOR, 2)
        .await
        .unwrap();
    let set = connect_schema(&url, "set_based", &MIGRATOR, 2)
        .await
        .unwrap();
    let events = history();

    let mut tx = one.begin().await.unwrap();
    for event in &events {
        Balances.apply(&mut tx, event).await.unwrap();
    }
    tx.commit().await.unwrap();
    for batch in events.chunks(37) {
        let mut tx = set.begin().await.unwrap();
        Balances.apply_all(&mut tx, batch).await.unwrap();
        tx.commit().await.unwrap();
    }

    let expected = tables(&one, "one_by_one").await;
    assert_eq!(expected.0.len(), 12);
    assert!(expected.1.len() >= 6, "{:?}", expected.1);
    assert!(expected.0.iter().any(|row| row.contains("|closed|")));
    assert_eq!(tables(&set, "set_based").await, expected);

    one.close().await;
    set.close().await;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
