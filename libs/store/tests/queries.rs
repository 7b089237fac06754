#![allow(clippy::unwrap_used)]
//! The event store's commit and read queries (time travel, stats,
//! versions, head, outcomes, the outbox) hold the same contract in memory
//! and on PostgreSQL: every test runs against both, the PostgreSQL one on a
//! database of its own.

use std::time::Duration;

use ledgerline_contracts::{CommandKey, StatusError, StatusKind};
use ledgerline_domain::{
    Account, AccountEvent, AccountId, AccountStatus, Amount, Balance, Currency,
};
use ledgerline_store::{
    AggregateVersion, CommitError, Decision, EventStore, InMemoryEventStore, MIGRATOR, PointInTime,
    PostgresEventStore, SCHEMA,
};
use ledgerline_testkit::TestDatabase;
use ledgerline_testkit::commands::{account, user};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const SNAPSHOT_EVERY: i64 = 3;
/// Nanoseconds on purpose: PostgreSQL keeps microseconds, and an `asOf`
/// equal to an event's wire timestamp must still include that event.
const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00.123456789 UTC);

/// What a command decided: its events, or a refusal.
type Outcome = Result<Vec<AccountEvent>, (StatusKind, StatusError)>;

/// A PostgreSQL event store in a database of its own, dropped with the
/// returned guard.
async fn on_postgres() -> (TestDatabase, PostgresEventStore) {
    let db = TestDatabase::create("queries").await;
    let store = PostgresEventStore::new(db.schema(SCHEMA, &MIGRATOR, 4).await);
    (db, store)
}

/// `outcome` decided for alice on `account` at `expected_version`.
fn decision(
    account: &AccountId,
    expected_version: i64,
    outcome: Outcome,
    decided_at: OffsetDateTime,
) -> Decision {
    Decision {
        key: CommandKey::from_stored(Uuid::now_v7()),
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        user_id: user("alice"),
        account_id: account.clone(),
        expected_version,
        snapshot: None,
        outcome,
        decided_at,
        traceparent: None,
    }
}

fn refused() -> Outcome {
    Err((
        StatusKind::Rejected,
        StatusError {
            code: "INSUFFICIENT_FUNDS".into(),
            message: "no".into(),
        },
    ))
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
    let mut decided = decision(account, current.version, Ok(events), at(after.version));
    decided.snapshot = crosses.then(|| after.clone());
    store.commit(decided).await.unwrap();
}

/// A refusal on `account` as it stands.
async fn reject<S: EventStore>(store: &S, account: &AccountId) {
    let current = store.load(account).await.unwrap().version;
    store
        .commit(decision(
            account,
            current,
            refused(),
            OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();
}

fn opened() -> AccountEvent {
    AccountEvent::AccountOpened {
        owner_id: user("alice"),
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
    let a = account("acc-a");
    append(store, &a, vec![opened()]).await;
    let mut balance = 0;
    for amount in 1..=7 {
        balance += amount;
        append(store, &a, vec![deposited(amount, balance)]).await;
    }
    append(store, &account("acc-b"), vec![opened(), deposited(5, 5)]).await;
    reject(store, &a).await;
}

async fn time_travel_contract<S: EventStore>(store: &S) {
    given_history(store).await;
    let a = account("acc-a");
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
        .load_as_of(&account("nobody"), PointInTime::Version(1))
        .await
        .unwrap();
    assert_eq!(unknown.account.version, 0);
}

/// A page of aggregate versions as (account, version) pairs.
fn versions(page: &[AggregateVersion]) -> Vec<(&str, i64)> {
    page.iter()
        .map(|v| (v.aggregate_id.as_str(), v.version))
        .collect()
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
    assert_eq!(versions(&page1), [("acc-a", 8)]);
    let page2 = store
        .aggregate_versions(Some(&page1[0].aggregate_id), 10)
        .await
        .unwrap();
    assert_eq!(versions(&page2), [("acc-b", 2)]);
    let done = store
        .aggregate_versions(Some(&account("acc-b")), 10)
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
    let (_db, store) = on_postgres().await;
    time_travel_contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_on_postgres() {
    let (_db, store) = on_postgres().await;
    stats_contract(&store).await;
}

/// A decided command read back from the store is what was published when
/// it was decided: its status, error and events — kept once, the events in
/// `events` and the outcome as the store's own record.
async fn outcome_contract<S: EventStore>(store: &S) {
    let account = account("acc-outcome");
    let now = OffsetDateTime::now_utc();
    let opened = decision(&account, 0, Ok(vec![opened(), deposited(500, 500)]), now);
    let refused = decision(&account, 2, refused(), now);
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
    let (_db, store) = on_postgres().await;
    outcome_contract(&store).await;
}

fn timed_out() -> Outcome {
    Err((
        StatusKind::Failed,
        StatusError {
            code: "TIMEOUT".into(),
            message: "not decided in time".into(),
        },
    ))
}

/// A commit is optimistic about whatever its decisions were taken on: an
/// account that moved on since spoils the group — a refusal too, which
/// appends nothing — and nothing of it is stored; a `failed` outcome rests
/// on no account.
async fn commit_contract<S: EventStore>(store: &S) {
    let account = account("acc-commit");
    let now = OffsetDateTime::now_utc();
    let opening = decision(&account, 0, Ok(vec![opened()]), now);
    store.commit(opening).await.unwrap();

    let stale_refusal = decision(&account, 0, refused(), now);
    let deposit = decision(&account, 1, Ok(vec![deposited(5, 5)]), now);
    let keys = [stale_refusal.key, deposit.key];
    let result = store.commit_all(vec![deposit, stale_refusal]).await;
    assert!(matches!(result, Err(CommitError::Conflict)), "{result:?}");
    assert!(store.outcomes(&keys).await.unwrap().is_empty());
    assert_eq!(store.load(&account).await.unwrap().version, 1);

    // Decisions that follow on from each other, a refusal between them.
    let group = vec![
        decision(&account, 1, Ok(vec![deposited(5, 5)]), now),
        decision(&account, 2, refused(), now),
        decision(&account, 2, Ok(vec![deposited(1, 6)]), now),
    ];
    assert_eq!(store.commit_all(group).await.unwrap().len(), 3);
    assert_eq!(store.load(&account).await.unwrap().version, 3);

    // A stale refusal alone, and one that skips the group's own events.
    let result = store.commit(decision(&account, 2, refused(), now)).await;
    assert!(matches!(result, Err(CommitError::Conflict)), "{result:?}");
    let group = vec![
        decision(&account, 3, Ok(vec![deposited(1, 7)]), now),
        decision(&account, 3, refused(), now),
    ];
    let result = store.commit_all(group).await;
    assert!(matches!(result, Err(CommitError::Conflict)), "{result:?}");
    assert_eq!(store.load(&account).await.unwrap().version, 3);

    let failed = decision(&account, 0, timed_out(), now);
    let key = failed.key;
    store.commit(failed).await.unwrap();
    assert!(store.outcome(key).await.unwrap().is_some());
}

#[tokio::test]
async fn commits_in_memory() {
    commit_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_on_postgres() {
    let (_db, store) = on_postgres().await;
    commit_contract(&store).await;
}

/// Groups committed at once by independent callers (a process's
/// partitions) are each answered as if committed alone: a stale group
/// among them fails with its own conflict and stores nothing, and every
/// other group is stored with its events in order.
async fn concurrent_commits_contract<S: EventStore>(store: &S) {
    let now = OffsetDateTime::now_utc();
    let accounts: Vec<AccountId> = (0..8).map(|i| account(&format!("acc-c{i}"))).collect();
    for id in &accounts {
        store
            .commit(decision(id, 0, Ok(vec![opened()]), now))
            .await
            .unwrap();
    }
    let mut groups: Vec<Vec<Decision>> = accounts
        .iter()
        .map(|id| {
            vec![
                decision(id, 1, Ok(vec![deposited(2, 2)]), now),
                decision(id, 2, Ok(vec![deposited(3, 5)]), now),
            ]
        })
        .collect();
    let stale = decision(&accounts[3], 0, refused(), now);
    let stale_key = stale.key;
    groups.insert(4, vec![stale]);
    let results =
        futures::future::join_all(groups.into_iter().map(|group| store.commit_all(group))).await;
    for (i, result) in results.into_iter().enumerate() {
        if i == 4 {
            assert!(matches!(result, Err(CommitError::Conflict)), "{result:?}");
            continue;
        }
        let own = &accounts[if i < 4 { i } else { i - 1 }];
        let statuses = result.unwrap();
        let versions: Vec<(String, i64)> = statuses
            .iter()
            .flat_map(|s| &s.payload.events)
            .map(|e| (e.aggregate_id.to_string(), e.version))
            .collect();
        assert_eq!(
            versions,
            vec![(own.to_string(), 2), (own.to_string(), 3)],
            "group {i}"
        );
    }
    for id in &accounts {
        let account = store.load(id).await.unwrap();
        assert_eq!(account.version, 3);
        assert!(
            matches!(account.status, AccountStatus::Open { balance, .. } if balance == Balance::from_minor(5).unwrap()),
            "{account:?}"
        );
    }
    assert!(store.outcome(stale_key).await.unwrap().is_none());
}

#[tokio::test]
async fn concurrent_commits_in_memory() {
    concurrent_commits_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_on_postgres() {
    let (_db, store) = on_postgres().await;
    concurrent_commits_contract(&store).await;
}

/// The outbox: a decided command is not told until its status is recorded
/// as published; keys without an outcome are never told, and marking them
/// is a no-op.
async fn outbox_contract<S: EventStore>(store: &S) {
    let account = account("acc-outbox");
    let now = OffsetDateTime::now_utc();
    let opening = decision(&account, 0, Ok(vec![opened()]), now);
    let refusal = decision(&account, 1, refused(), now);
    let (first, second) = (opening.key, refusal.key);
    store.commit(opening).await.unwrap();
    store.commit(refusal).await.unwrap();
    let never = CommandKey::from_stored(Uuid::now_v7());
    let keys = [first, second, never];
    assert!(store.marked_told(&keys).await.unwrap().is_empty());
    store.mark_told(&[first, never]).await.unwrap();
    assert_eq!(
        store.marked_told(&keys).await.unwrap(),
        [first].into_iter().collect()
    );
    store.mark_told(&[first, second]).await.unwrap();
    assert_eq!(
        store.marked_told(&keys).await.unwrap(),
        [first, second].into_iter().collect()
    );
}

#[tokio::test]
async fn outbox_in_memory() {
    outbox_contract(&InMemoryEventStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_on_postgres() {
    let (_db, store) = on_postgres().await;
    outbox_contract(&store).await;
}
