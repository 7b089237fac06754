#![allow(clippy::unwrap_used)]
//! The read queries of the event store (time travel, stats, versions, head)
//! hold the same contract in memory and on PostgreSQL: every test runs
//! against both, the PostgreSQL one on a database of its own.

use std::time::Duration;

use ledgerline_contracts::{CommandKey, StatusError, StatusKind};
use ledgerline_domain::{Account, AccountEvent, AccountId, Amount, Balance, Currency, UserId};
use ledgerline_store::{
    Decision, EventStore, InMemoryEventStore, MIGRATOR, PointInTime, PostgresEventStore, SCHEMA,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const SNAPSHOT_EVERY: i64 = 3;
/// Nanoseconds on purpose: PostgreSQL keeps microseconds, and an `asOf`
/// equal to an event's wire timestamp must still include that event.
const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00.123456789 UTC);

/// A PostgreSQL event store in a database of its own, dropped at the end.
struct TestDb {
    store: PostgresEventStore,
    admin: PgConnectOptions,
    name: String,
}

impl TestDb {
    async fn new() -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/ledgerline".to_owned());
        let admin = url
            .parse::<PgConnectOptions>()
            .unwrap()
            .database("postgres");
        let name = format!("ll_queries_{}", Uuid::now_v7().simple());
        let mut conn = admin.connect().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        let options = admin
            .clone()
            .database(&name)
            .options([("search_path", SCHEMA)]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE SCHEMA es")
            .execute(&pool)
            .await
            .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        Self {
            store: PostgresEventStore::new(pool),
            admin,
            name,
        }
    }

    async fn drop_database(self) {
        self.store.pool().close().await;
        let mut conn = self.admin.connect().await.unwrap();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
    }
}

fn id(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

/// The time of an account's `n`-th event in these tests: a second apart.
fn at(n: i64) -> OffsetDateTime {
    T0 + Duration::from_secs(u64::try_from(n).unwrap())
}

/// Appends `events` to `account` as one decided command, with a snapshot
/// when they cross a multiple of [`SNAPSHOT_EVERY`], stamped `at(version)`.
async fn append<S: EventStore>(store: &S, account: &AccountId, events: Vec<AccountEvent>) {
    let current = store.load(account).await.unwrap();
    let after = events.iter().fold(current.clone(), Account::apply);
    let crosses = after.version / SNAPSHOT_EVERY != current.version / SNAPSHOT_EVERY;
    store
        .commit(Decision {
            key: CommandKey::from_stored(Uuid::now_v7()),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            user_id: UserId::parse("alice").unwrap(),
            account_id: account.clone(),
            expected_version: current.version,
            snapshot: crosses.then(|| after.clone()),
            outcome: Ok(events),
            decided_at: at(after.version),
            traceparent: None,
        })
        .await
        .unwrap();
}

async fn reject<S: EventStore>(store: &S, account: &AccountId) {
    let error = StatusError {
        code: "INSUFFICIENT_FUNDS".into(),
        message: "no".into(),
    };
    store
        .commit(Decision {
            key: CommandKey::from_stored(Uuid::now_v7()),
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            user_id: UserId::parse("alice").unwrap(),
            account_id: account.clone(),
            expected_version: 0,
            snapshot: None,
            outcome: Err((StatusKind::Rejected, error)),
            decided_at: OffsetDateTime::now_utc(),
            traceparent: None,
        })
        .await
        .unwrap();
}

fn opened() -> AccountEvent {
    AccountEvent::AccountOpened {
        owner_id: UserId::parse("alice").unwrap(),
        currency: Currency::default(),
        initial_balance: Balance::ZERO,
    }
}

fn deposited(amount: i64, balance_after: i64) -> AccountEvent {
    AccountEvent::MoneyDeposited {
        amount: Amount::from_minor(amount).unwrap(),
        balance_after: Balance::from_minor(balance_after).unwrap(),
        reference: None,
    }
}

/// acc-a: opened, then deposits of 1..=7 one per command (8 events,
/// snapshots at 3 and 6); acc-b: opened and one deposit in one command;
/// plus one rejected command.
async fn given_history<S: EventStore>(store: &S) {
    let a = id("acc-a");
    append(store, &a, vec![opened()]).await;
    let mut balance = 0;
    for amount in 1..=7 {
        balance += amount;
        append(store, &a, vec![deposited(amount, balance)]).await;
    }
    append(store, &id("acc-b"), vec![opened(), deposited(5, 5)]).await;
    reject(store, &a).await;
}

async fn time_travel_contract<S: EventStore>(store: &S) {
    given_history(store).await;
    let a = id("acc-a");
    let events = store.account_events(&a, 0, 100).await.unwrap();
    for version in 0..=8 {
        let expected = Account::replay(
            a.clone(),
            events.iter().take(version as usize).map(|e| &e.event),
        );
        let by_version = store
            .load_as_of(&a, PointInTime::Version(version))
            .await
            .unwrap();
        assert_eq!(by_version.account, expected, "version {version}");
        // The latest snapshot at or before the version, never a later one.
        let snapshot = match version {
            0..=2 => None,
            3..=5 => Some(3),
            _ => Some(6),
        };
        assert_eq!(by_version.snapshot_version, snapshot, "version {version}");
        assert_eq!(
            by_version.events_replayed,
            version - snapshot.unwrap_or(0),
            "version {version}"
        );
        // Exactly at an event's timestamp (nanoseconds and all), and just
        // before the next one, the account has that many events.
        if version > 0 {
            for t in [at(version), at(version + 1) - Duration::from_micros(10)] {
                let by_time = store.load_as_of(&a, PointInTime::Time(t)).await.unwrap();
                assert_eq!(by_time.account, expected, "as of {t}");
            }
        }
    }
    let before = store
        .load_as_of(&a, PointInTime::Time(T0 - Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!((before.account.version, before.account.owner()), (0, None));
    let beyond = store
        .load_as_of(&a, PointInTime::Version(99))
        .await
        .unwrap();
    assert_eq!(beyond.account, store.load(&a).await.unwrap());
    let unknown = store
        .load_as_of(&id("nobody"), PointInTime::Version(1))
        .await
        .unwrap();
    assert_eq!(unknown.account.version, 0);
}

async fn stats_contract<S: EventStore>(store: &S) {
    let empty = store.stats().await.unwrap();
    assert_eq!(
        (empty.events, empty.aggregates, empty.head_position),
        (0, 0, 0)
    );
    assert_eq!(store.head_position().await.unwrap(), 0);
    given_history(store).await;
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (stats.events, stats.aggregates, stats.snapshots),
        (10, 2, 2)
    );
    assert_eq!(
        stats.events_by_type.into_iter().collect::<Vec<_>>(),
        [
            ("AccountOpened".to_owned(), 2),
            ("MoneyDeposited".to_owned(), 8)
        ]
    );
    assert_eq!(
        stats.commands_by_status.into_iter().collect::<Vec<_>>(),
        [
            ("failed".to_owned(), 0),
            ("rejected".to_owned(), 1),
            ("succeeded".to_owned(), 9)
        ]
    );
    let head = store.head_position().await.unwrap();
    assert_eq!(stats.head_position, head);
    let last = store.stream(0, 100, None).await.unwrap();
    // The stream may lag behind the head (safe mark), never run ahead of it.
    assert!(last.last().is_none_or(|e| e.global_position <= head));
    assert!(head >= 10, "head {head}");

    let page1 = store.aggregate_versions(None, 1).await.unwrap();
    assert_eq!(
        page1
            .iter()
            .map(|v| (v.aggregate_id.as_str(), v.version))
            .collect::<Vec<_>>(),
        [("acc-a", 8)]
    );
    let page2 = store
        .aggregate_versions(Some(&page1[0].aggregate_id), 10)
        .await
        .unwrap();
    assert_eq!(
        page2
            .iter()
            .map(|v| (v.aggregate_id.as_str(), v.version))
            .collect::<Vec<_>>(),
        [("acc-b", 2)]
    );
    let done = store
        .aggregate_versions(Some(&id("acc-b")), 10)
        .await
        .unwrap();
    assert!(done.is_empty());
}

#[tokio::test]
async fn time_travel_in_memory() {
    time_travel_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test]
async fn stats_in_memory() {
    stats_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_travel_on_postgres() {
    let db = TestDb::new().await;
    time_travel_contract(&db.store).await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_on_postgres() {
    let db = TestDb::new().await;
    stats_contract(&db.store).await;
    db.drop_database().await;
}

/// A decided command read back from the store is what was published when
/// it was decided: its status, error and events — kept once, the events in
/// `events` and the outcome as the store's own record.
async fn outcome_contract<S: EventStore>(store: &S) {
    let account = id("acc-outcome");
    let decision = |outcome, expected_version| Decision {
        key: CommandKey::from_stored(Uuid::now_v7()),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        user_id: UserId::parse("alice").unwrap(),
        account_id: account.clone(),
        expected_version,
        snapshot: None,
        outcome,
        decided_at: OffsetDateTime::now_utc(),
        traceparent: None,
    };
    let opened = decision(Ok(vec![opened(), deposited(500, 500)]), 0);
    let refused = decision(
        Err((
            StatusKind::Rejected,
            StatusError {
                code: "INSUFFICIENT_FUNDS".into(),
                message: "no".into(),
            },
        )),
        2,
    );
    for decision in [opened, refused] {
        let key = decision.key;
        let published = store.commit(decision).await.unwrap();
        let stored = store.outcome(key).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&published));
        let by_key = store.outcomes(&[key]).await.unwrap();
        assert_eq!(by_key.get(&key), Some(&published));
    }
}

#[tokio::test]
async fn outcomes_in_memory() {
    outcome_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_on_postgres() {
    let db = TestDb::new().await;
    outcome_contract(&db.store).await;
    db.drop_database().await;
}
