#![allow(clippy::unwrap_used)]
//! The PostgreSQL event store under concurrency, on a database of its own.

use command_processor::{Handled, handle_command};
use ledgerline_contracts::{CommandKey, CommandMessage};
use ledgerline_domain::{AccountCommand, AccountEvent, AccountId, Balance};
use ledgerline_store::{CommitError, Decision, EventStore, MIGRATOR, PostgresEventStore, SCHEMA};
use ledgerline_testkit::TestDatabase;
use ledgerline_testkit::commands::{account, amount, deposit, message, open, user};
use time::OffsetDateTime;
use uuid::Uuid;

const ACCOUNT: &str = "acc-pg";

fn acc() -> AccountId {
    account(ACCOUNT)
}

/// A PostgreSQL event store in a database of its own (dropped with the
/// returned guard) in which alice has opened [`ACCOUNT`], snapshotting
/// every `snapshot_every` events.
async fn with_account(snapshot_every: i64) -> (TestDatabase, PostgresEventStore) {
    let db = TestDatabase::create("store").await;
    let store = PostgresEventStore::new(db.schema(SCHEMA, &MIGRATOR, 12).await);
    decide(&store, open(ACCOUNT), snapshot_every).await;
    (db, store)
}

/// `command` queued by alice, decided and stored.
async fn decide(
    store: &PostgresEventStore,
    command: AccountCommand,
    snapshot_every: i64,
) -> Handled {
    handle_command(store, &message("alice", command), snapshot_every)
        .await
        .unwrap()
}

/// The versions of [`ACCOUNT`]'s events, in order.
async fn event_versions(store: &PostgresEventStore) -> Vec<i64> {
    store
        .account_events(&acc(), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect()
}

fn deposit_decision(expected_version: i64, minor: i64) -> Decision {
    let command_id = Uuid::now_v7();
    Decision {
        key: CommandKey::of_client(&user("alice"), command_id),
        command_id,
        correlation_id: Uuid::now_v7(),
        user_id: user("alice"),
        account_id: acc(),
        expected_version,
        outcome: Ok(vec![AccountEvent::MoneyDeposited {
            amount: amount(minor),
            balance_after: Balance::from_minor(minor).unwrap(),
            reference: None,
        }]),
        snapshot: None,
        decided_at: OffsetDateTime::now_utc(),
        traceparent: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_appends_at_the_same_version_exactly_one_wins() {
    let (_db, store) = with_account(10).await;
    let (a, b) = tokio::join!(
        store.commit(deposit_decision(1, 5)),
        store.commit(deposit_decision(1, 7))
    );
    let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
    let conflicts = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(CommitError::Conflict)))
        .count();
    assert_eq!((wins, conflicts), (1, 1), "{a:?} {b:?}");
    assert_eq!(store.load(&acc()).await.unwrap().version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_loses_the_race_reloads_and_decides_again() {
    let (_db, store) = with_account(10).await;
    // Ten deposits decided at once against the same account: all load
    // version 1, only one can append there, the rest must retry.
    let commands: Vec<CommandMessage> = (1..=10)
        .map(|m| message("alice", deposit(ACCOUNT, m)))
        .collect();
    let results =
        futures::future::join_all(commands.iter().map(|m| handle_command(&store, m, 10))).await;
    assert!(
        results.iter().all(|r| r.as_ref().is_ok_and(|h| h.fresh)),
        "{results:?}"
    );
    let account = store.load(&acc()).await.unwrap();
    assert_eq!((account.version, account.balance().minor()), (11, 55));
    assert_eq!(event_versions(&store).await, (1..=11).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_every_n_events_load_the_same_state_as_a_full_replay() {
    let (_db, store) = with_account(3).await;
    for minor in 1..=9 {
        decide(&store, deposit(ACCOUNT, minor), 3).await;
    }
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM snapshots ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(versions, [3, 6, 9]);
    let with = store.load(&acc()).await.unwrap();
    let without = store.load_without_snapshot(&acc()).await.unwrap();
    assert_eq!(with, without);
    assert_eq!((with.version, with.balance().minor()), (10, 45));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_log_is_read_only_below_transactions_still_in_flight() {
    let (_db, store) = with_account(10).await;
    // A slow writer takes a position and has not committed yet…
    let mut slow = store.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata)
         SELECT $1, aggregate_type, 'acc-slow', 1, event_type, schema_version, data, metadata FROM events LIMIT 1",
    )
    .bind(Uuid::now_v7())
    .execute(&mut *slow)
    .await
    .unwrap();
    // …while a fast writer commits a later position.
    decide(&store, deposit(ACCOUNT, 1), 10).await;
    let fast_position: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let visible: Vec<i64> = store
        .stream(0, 100, None)
        .await
        .unwrap()
        .iter()
        .map(|e| e.global_position)
        .collect();
    assert!(
        visible.iter().all(|p| *p < fast_position - 1),
        "nothing at or after the open transaction's position (fast_position - 1) may be read: {visible:?}"
    );
    slow.commit().await.unwrap();
    // The mark is cluster-wide: a transaction open in another database (a
    // parallel test) holds it back too, so wait for it to pass.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let visible = store.stream(0, 100, None).await.unwrap().len();
        if visible == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {visible} of 3 events became readable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_decided_twice_concurrently_is_stored_once() {
    let (_db, store) = with_account(10).await;
    let same = message("alice", deposit(ACCOUNT, 4));
    let (a, b) = tokio::join!(
        handle_command(&store, &same, 10),
        handle_command(&store, &same, 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status.payload.events, b.status.payload.events);
    assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_deposits_stored_as_raw_rows_load_through_the_upcaster() {
    let (_db, store) = with_account(10).await;
    // Two deposits exactly as version 1 wrote them: no `reference`.
    for (version, amount, after) in [(2, 500, 500), (3, 250, 750)] {
        sqlx::query(
            "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, schema_version, data, metadata)
             SELECT $1, 'BankAccount', 'acc-pg', $2, 'MoneyDeposited', 1, $3, metadata FROM events WHERE version = 1",
        )
        .bind(Uuid::now_v7())
        .bind(version)
        .bind(serde_json::json!({"amount": amount, "balanceAfter": after}))
        .execute(store.pool())
        .await
        .unwrap();
    }
    let account = store.load(&acc()).await.unwrap();
    assert_eq!((account.version, account.balance().minor()), (3, 750));
    let events = store.account_events(&acc(), 1, 10).await.unwrap();
    assert!(
        events.iter().all(|e| e.schema_version == 2),
        "read as the current version"
    );
    assert!(events.iter().all(|e| matches!(
        e.event,
        AccountEvent::MoneyDeposited {
            reference: None,
            ..
        }
    )));
    // New deposits are written as version 2, with their reference.
    let reference = ledgerline_domain::Reference::parse("Invoice 42").unwrap();
    let deposit = AccountCommand::Deposit {
        account_id: acc(),
        amount: amount(1),
        reference: Some(reference.clone()),
    };
    decide(&store, deposit, 10).await;
    let stored: (i32, serde_json::Value) =
        sqlx::query_as("SELECT schema_version, data FROM events WHERE version = 4")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(
        (stored.0, stored.1["reference"].as_str()),
        (2, Some("Invoice 42"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_commit_stores_every_decision_in_order_or_none() {
    let (_db, store) = with_account(10).await;
    let group = vec![
        deposit_decision(1, 5),
        deposit_decision(2, 7),
        deposit_decision(3, 1),
    ];
    let ids: Vec<Uuid> = group.iter().map(|d| d.command_id).collect();
    let keys: Vec<CommandKey> = group.iter().map(|d| d.key).collect();
    let outcomes = store.commit_all(group).await.unwrap();
    let positions: Vec<i64> = outcomes
        .iter()
        .map(|o| o.payload.events[0].global_position)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(
        outcomes
            .iter()
            .map(|o| o.payload.command_id)
            .collect::<Vec<_>>(),
        ids
    );
    assert_eq!(store.outcomes(&keys).await.unwrap().len(), 3);
    assert_eq!(store.load(&acc()).await.unwrap().version, 4);

    // One stale decision spoils the group: nothing of it is stored.
    let fresh = deposit_decision(4, 2);
    let fresh_key = fresh.key;
    let result = store.commit_all(vec![fresh, deposit_decision(3, 9)]).await;
    assert!(matches!(result, Err(CommitError::Conflict)), "{result:?}");
    assert!(store.outcome(fresh_key).await.unwrap().is_none());
    assert_eq!(store.load(&acc()).await.unwrap().version, 4);

    // A command decided before spoils it too.
    let mut again = deposit_decision(4, 2);
    again.key = keys[0];
    let result = store.commit_all(vec![again]).await;
    assert!(
        matches!(result, Err(CommitError::AlreadyDecided)),
        "{result:?}"
    );
}
