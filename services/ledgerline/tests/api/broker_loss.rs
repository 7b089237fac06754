//! Faults of the broker and of stored data, each on a NATS server of the
//! test's own: every 202 still reaches exactly one outcome, and nothing
//! holds a command partition for ever.

use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::Batch;
use command_processor::handle_command;
use futures::StreamExt;
use futures::future::join_all;
use ledgerline::Target;
use ledgerline_bus::partition_of;
use ledgerline_contracts::{CommandKey, StatusKind};
use ledgerline_domain::{AccountEvent, AccountId, UserId};
use ledgerline_runtime::Shutdown;
use ledgerline_runtime::tuning::ACK_WAIT;
use ledgerline_testkit::commands::{deposit, message_with_id, transfer};
use serde_json::json;
use uuid::Uuid;

use crate::bursts::ALL_BUT_THE_PROCESSOR;
use crate::helpers::{PrivateNats, TestApp, spawn_app_with, spawn_services, status_frames};

/// An account id on `partition`, other than those in `taken`.
fn on_partition(partition: u32, partitions: u32, prefix: &str) -> String {
    (0..)
        .map(|i| format!("{prefix}-{i}"))
        .find(|id| partition_of(&AccountId::parse(id).unwrap(), partitions) == partition)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_cannot_be_decided_fails_and_its_partition_moves_on() {
    let nats = PrivateNats::start().await;
    let app = spawn_app_with(|c| c.nats_url = nats.url()).await;
    let partitions = app.config.command_partitions;
    let (alice, carol) = (app.token("alice").await, app.token("carol").await);
    let poisoned = "acc-poisoned";
    let partition = partition_of(&AccountId::parse(poisoned).unwrap(), partitions);
    let neighbour = on_partition(partition, partitions, "acc-carol");
    let id = app.open_account(&alice, poisoned).await;
    assert_eq!(app.outcome(&alice, &id).await["status"], "succeeded");

    // The account's stored events stop decoding: every attempt to load it
    // will fail the same way.
    let store = app.event_store().await;
    sqlx::query(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type,
                             schema_version, data, metadata)
         VALUES ($1, 'BankAccount', $2, 2, 'MoneyDeposited', 2, '{\"garbage\": true}', '{}')",
    )
    .bind(Uuid::now_v7())
    .bind(poisoned)
    .execute(store.pool())
    .await
    .unwrap();

    // A command on it, and a neighbour's commands on the same partition
    // queued behind it.
    let stuck = app.deposit(&alice, poisoned, 5).await;
    let opened = app.open_account(&carol, &neighbour).await;
    let deposit = app.deposit(&carol, &neighbour, 7).await;

    let outcome = app.outcome(&alice, &stuck).await;
    assert_eq!(
        (&outcome["status"], &outcome["outcome"]["error"]["code"]),
        (&json!("failed"), &json!("UNDECIDABLE")),
        "{outcome}"
    );
    assert_eq!(app.outcome(&carol, &opened).await["status"], "succeeded");
    assert_eq!(app.outcome(&carol, &deposit).await["status"], "succeeded");
    // The partition keeps deciding.
    let later = app.deposit(&carol, &neighbour, 1).await;
    assert_eq!(app.outcome(&carol, &later).await["status"], "succeeded");
}

/// Every service on a NATS of the test's own (one the test may break),
/// reconciling after 2 s, with the command processor a service of its own.
async fn reconciling_on_private_nats() -> (PrivateNats, TestApp, Shutdown) {
    let nats = PrivateNats::start().await;
    let app = spawn_services(&ALL_BUT_THE_PROCESSOR, |c| {
        c.nats_url = nats.url();
        c.reconcile_after_secs = 2;
        c.command_deadline_secs = 600;
    })
    .await;
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    (nats, app, processor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_commands_the_broker_lost_are_still_decided_exactly_once() {
    let (_nats, app, processor) = reconciling_on_private_nats().await;
    let alice = app.token("alice").await;
    let opened = app.open_account(&alice, "acc-lost").await;
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");

    // The processor stops; 400 deposits are accepted (each answered 202 only
    // once JetStream stored it), and the broker loses the first 200.
    processor.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids = Vec::new();
    for half in 0..2 {
        for chunk in 0..10 {
            let posts = (0..20).map(|i| {
                let n = half * 200 + chunk * 20 + i;
                let body = json!({"accountId": "acc-lost", "amount": "1.00", "reference": format!("d{n}")});
                app.accepted(&alice, "deposit", body)
            });
            ids.extend(join_all(posts).await);
        }
        if half == 0 {
            let purged = app.purge_commands().await;
            assert_eq!(purged, 200, "the broker held the first 200");
        }
    }

    // A processor comes back: every accepted command gets its outcome.
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push(app.outcome(&alice, id).await);
    }
    let succeeded = outcomes
        .iter()
        .filter(|o| o["status"] == "succeeded")
        .count();
    assert_eq!(
        succeeded,
        400,
        "{:?}",
        outcomes.iter().find(|o| o["status"] != "succeeded")
    );
    // Each exactly once: 400 deposits of 1.00 and nothing else.
    let (_, account) = app.get(&alice, "/queries/account/acc-lost").await;
    assert_eq!(
        (&account["balance"], &account["version"]),
        (&json!("400.00"), &json!(401)),
        "{account}"
    );
    processor.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_whose_next_step_the_broker_lost_is_still_finished_once() {
    let (_nats, app, processor) = reconciling_on_private_nats().await;
    let alice = app.token("alice").await;
    for (account, initial) in [("acc-from", 100), ("acc-to", 0)] {
        let id = app
            .accepted(
                &alice,
                "open-account",
                json!({"accountId": account, "initialBalance": initial}),
            )
            .await;
        assert_eq!(app.outcome(&alice, &id).await["status"], "succeeded");
    }

    // The processor stops; a transfer is accepted, and the broker loses it.
    processor.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = app
        .accepted(
            &alice,
            "transfer",
            json!({"fromAccountId": "acc-from", "toAccountId": "acc-to", "amount": 25}),
        )
        .await;
    assert_eq!(app.purge_commands().await, 1);
    // Its debit is decided (as by a processor that then died), and the
    // credit step it would have queued is nowhere.
    let command_id = Uuid::parse_str(&id).unwrap();
    let transfer = message_with_id("alice", command_id, transfer("acc-from", "acc-to", 2_500));
    let store = app.event_store().await;
    let debited = handle_command(&store, &transfer, 10).await.unwrap();
    assert_eq!(debited.status.payload.status, StatusKind::Succeeded);

    // Money in flight is not a finished transfer: its user is not told so.
    let (status, answer) = app.get(&alice, &format!("/commands/{id}")).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("accepted")),
        "{answer}"
    );

    // A processor comes back; the reconciler finds the transfer unfinished
    // and queues it again, and its repeat queues the lost step.
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    let outcome = app.outcome(&alice, &id).await;
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    for (account, balance) in [("acc-from", "75.00"), ("acc-to", "25.00")] {
        let (_, state) = app
            .get(&alice, &format!("/queries/account/{account}"))
            .await;
        assert_eq!(
            (&state["balance"], &state["inFlight"], &state["version"]),
            (
                &json!(balance),
                &json!("0.00"),
                &json!(if account == "acc-from" { 3 } else { 2 })
            ),
            "{account}: moved once, {state}"
        );
    }
    processor.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_whose_status_was_never_published_is_told_when_the_broker_lost_its_command() {
    let (_nats, app, processor) = reconciling_on_private_nats().await;
    let alice = app.token("alice").await;
    let opened = app.open_account(&alice, "acc-untold").await;
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");
    let mut socket = app.socket(&alice).await;

    // The processor stops; a deposit is accepted and the broker loses it.
    processor.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = app
        .accepted(
            &alice,
            "deposit",
            json!({"accountId": "acc-untold", "amount": "2.50"}),
        )
        .await;
    assert_eq!(app.purge_commands().await, 1);
    // It is decided and committed, as by a processor that then died (or met
    // NATS away) before publishing its status: stored, never told.
    let command_id = Uuid::parse_str(&id).unwrap();
    let message = message_with_id("alice", command_id, deposit("acc-untold", 250));
    let store = app.event_store().await;
    let decided = handle_command(&store, &message, 10).await.unwrap();
    assert_eq!(decided.status.payload.status, StatusKind::Succeeded);
    assert_eq!(app.outcome(&alice, &id).await["status"], "succeeded");

    // A processor comes back; the reconciler finds the outcome untold and
    // queues the command again; its repeat publishes the stored outcome.
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = status_frames(&mut socket, 1, left)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no status for {id} within 30 s"));
        if frame["commandId"] == json!(id) {
            break frame;
        }
    };
    assert_eq!(status["status"], "succeeded", "{status}");
    // Told, not decided again: one deposit.
    let (_, account) = app.get(&alice, "/queries/account/acc-untold").await;
    assert_eq!(
        (&account["balance"], &account["version"]),
        (&json!("2.50"), &json!(2)),
        "{account}"
    );
    processor.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_whose_status_went_out_are_marked_told_and_never_queued_again() {
    let (_nats, app, processor) = reconciling_on_private_nats().await;
    let alice = app.token("alice").await;
    let opened = app.open_account(&alice, "acc-told").await;
    let deposited = app.deposit(&alice, "acc-told", 3).await;
    let transferred = app
        .accepted(
            &alice,
            "transfer",
            json!({"fromAccountId": "acc-told", "toAccountId": "acc-told-2", "amount": "1"}),
        )
        .await;
    for id in [&opened, &deposited, &transferred] {
        assert!(app.outcome(&alice, id).await["status"].is_string());
    }
    // The marks are written behind the publishes: within moments, every
    // user's command — the transfer on its own key — is told.
    let alice_id = UserId::parse("alice").unwrap();
    let keys: Vec<CommandKey> = [&opened, &deposited, &transferred]
        .iter()
        .map(|id| CommandKey::of_client(&alice_id, Uuid::parse_str(id).unwrap()))
        .collect();
    let store = app.event_store().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let told = ledgerline_store::EventStore::marked_told(&store, &keys)
            .await
            .unwrap();
        if told.len() == keys.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {told:?} of {keys:?} told after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The reconciler (every second here) settles them and queues nothing.
    let published = app.commands_published().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.commands_published().await, published);
    processor.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_owners_delivery_is_decided_before_the_commands_after_it() {
    let (_nats, app, processor) = reconciling_on_private_nats().await;
    let alice = app.token("alice").await;
    let opened = app.open_account(&alice, "acc-order").await;
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");
    processor.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // An earlier owner of the partition takes the first deposit and dies
    // holding it; a second deposit is queued behind it.
    let first = app.deposit(&alice, "acc-order", 1).await;
    let account = AccountId::parse("acc-order").unwrap();
    let consumer = partition_consumer(&app, &account).await;
    let mut taken = consumer.fetch().max_messages(1).messages().await.unwrap();
    let held = taken.next().await.unwrap().unwrap();
    let second = app.deposit(&alice, "acc-order", 2).await;

    // A new owner takes over; just before the first deposit's AckWait
    // ends, the earlier owner's delivery has it started again (as a
    // consumer whose leader moved to another NATS node does), so the
    // second deposit reaches the new owner well before the first comes
    // back.
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    tokio::time::sleep(ACK_WAIT - Duration::from_secs(1)).await;
    held.ack_with(AckKind::Progress).await.unwrap();
    drop(taken);

    for id in [&first, &second] {
        assert_eq!(app.outcome(&alice, id).await["status"], "succeeded");
    }
    // Decided in the order they were accepted: 1.00 at version 2.
    let store = app.event_store().await;
    let events = ledgerline_store::EventStore::account_events(&store, &account, 0, 10)
        .await
        .unwrap();
    let amounts: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            AccountEvent::MoneyDeposited { amount, .. } => Some((e.version, amount.minor())),
            _ => None,
        })
        .collect();
    assert_eq!(amounts, [(2, 100), (3, 200)]);
    processor.cancel();
}

/// The processor's durable consumer of `account`'s partition, as the test
/// binds it to pull beside (or instead of) the processor.
async fn partition_consumer(app: &TestApp, account: &AccountId) -> PullConsumer {
    let bus = app.bus().await;
    let partition = partition_of(account, bus.partitions);
    bus.durable_consumer(
        &bus.subjects.commands_stream(),
        &command_processor::durable_name(partition),
        bus.subjects.command_partition(partition),
        ACK_WAIT,
    )
    .await
    .unwrap()
}

/// A processor on its own, with a pull request of the test's waiting at
/// the server ahead of its own on `account`'s partition (as an earlier
/// owner's that outlived it does): the partition's next delivery goes to
/// the test, and never comes back until its AckWait runs out.
async fn a_pull_ahead_of_the_owner(
    app: &TestApp,
    account: &str,
) -> (PullConsumer, Batch, Shutdown) {
    let mut consumer = partition_consumer(app, &AccountId::parse(account).unwrap()).await;
    let ahead = consumer
        .batch()
        .max_messages(1)
        .expires(Duration::from_secs(60))
        .messages()
        .await
        .unwrap();
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while consumer.info().await.unwrap().num_waiting < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the owner never pulled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (consumer, ahead, processor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_went_astray_is_decided_before_the_commands_after_it() {
    let app = spawn_services(&ALL_BUT_THE_PROCESSOR, |_| {}).await;
    let alice = app.token("alice").await;
    let (_, mut astray, processor) = a_pull_ahead_of_the_owner(&app, "acc-astray").await;

    // The account's opening goes astray; the deposit after it reaches the
    // owner at once.
    let opened = app.open_account(&alice, "acc-astray").await;
    let lost = astray.next().await.unwrap().unwrap();
    let deposit = app.deposit(&alice, "acc-astray", 5).await;

    // Decided in the order they were accepted: the deposit waits for the
    // opening to come back, and finds the account open.
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");
    let outcome = app.outcome(&alice, &deposit).await;
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    drop(lost);
    processor.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_lets_go_hands_back_what_it_did_not_decide() {
    let app = spawn_services(&ALL_BUT_THE_PROCESSOR, |_| {}).await;
    let alice = app.token("alice").await;
    let (mut consumer, mut astray, first) = a_pull_ahead_of_the_owner(&app, "acc-back").await;

    // The owner holds a deposit behind the account's opening, which went
    // astray.
    let opened = app.open_account(&alice, "acc-back").await;
    let lost = astray.next().await.unwrap().unwrap();
    let deposit = app.deposit(&alice, "acc-back", 5).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while consumer.info().await.unwrap().num_ack_pending < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the owner never got the deposit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Delivered is not yet received: a delivery still on its way when the
    // owner drops its pull is lost to it and comes back only after its
    // AckWait (docs/RELIABILITY.md). Give it time to arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // It lets the partition go (as at a rolling restart), and the opening's
    // holder hands it back too; the next owner takes over.
    let let_go = tokio::time::Instant::now();
    first.cancel();
    // Once it has stopped pulling (else the opening would be handed to it
    // again, on its way as it stops).
    while consumer.info().await.unwrap().num_waiting > 0 {
        assert!(
            tokio::time::Instant::now() < let_go + Duration::from_secs(5),
            "the owner never stopped pulling"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lost.ack_with(AckKind::Nak(None)).await.unwrap();
    let (_, second) = app.spawn_service(Target::CommandProcessor).await;

    // Both are decided, in order, well before the deposit's AckWait (last
    // extended at most a second before the owner let go) could have run
    // out: it was handed back, not left to time out.
    assert_eq!(app.outcome(&alice, &opened).await["status"], "succeeded");
    let outcome = app.outcome(&alice, &deposit).await;
    assert_eq!(outcome["status"], "succeeded", "{outcome}");
    let waited = let_go.elapsed();
    assert!(
        waited < ACK_WAIT - Duration::from_secs(2),
        "decided {waited:?} after the owner let go"
    );
    second.cancel();
}
