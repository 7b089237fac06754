//! Faults the system must absorb: lost publishes, redelivery after a crash,
//! poison messages, commands that waited too long.

use std::time::Duration;

use bytes::Bytes;
use command_processor::handle_command;
use ledgerline_domain::AccountId;
use ledgerline_testkit::commands::{deposit, message};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, status_frames};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_heals_a_gap_by_reading_the_event_store() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    app.open_account(&alice, "acc-gap").await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 1
    })
    .await;
    // Two deposits committed, but the processor "crashed" before publishing
    // the first: only the second event ever reaches JetStream.
    let store = app.event_store().await;
    handle_command(&store, &message("alice", deposit("acc-gap", 100)), 10)
        .await
        .unwrap();
    let second = handle_command(&store, &message("alice", deposit("acc-gap", 250)), 10)
        .await
        .unwrap();
    app.bus()
        .await
        .publish_event(&second.status.payload.events[0])
        .await
        .unwrap();

    let balances = app
        .eventually(&alice, "/projections/AccountBalances", |b| {
            b["items"][0]["version"] == 3
        })
        .await;
    assert_eq!(balances["items"][0]["balance"], "3.50");
    let history = app
        .eventually(
            &alice,
            "/projections/TransactionHistory?accountId=acc-gap",
            |b| b["items"].as_array().map_or(0, Vec::len) == 3,
        )
        .await;
    let versions: Vec<i64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [3, 2, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_longer_than_a_page_of_the_event_store_is_healed_whole() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    app.open_account(&alice, "acc-long-gap").await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 1
    })
    .await;
    // More deposits committed than one read of the store returns, and only
    // the last one published.
    let store = app.event_store().await;
    let deposits = ledgerline_store::MAX_PAGE + 50;
    let mut last = None;
    for _ in 0..deposits {
        let decided = handle_command(&store, &message("alice", deposit("acc-long-gap", 1)), 10)
            .await
            .unwrap();
        last = Some(decided);
    }
    let last = last.unwrap();
    app.bus()
        .await
        .publish_event(&last.status.payload.events[0])
        .await
        .unwrap();

    let balances = app
        .eventually(&alice, "/projections/AccountBalances", |b| {
            b["items"][0]["version"] == deposits + 1
        })
        .await;
    assert_eq!(
        balances["items"][0]["balance"],
        format!("{}.{:02}", deposits / 100, deposits % 100)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_publish_is_repaired_by_redelivery() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-crash").await;
    status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    // Decided and committed, then the processor died: nothing published, not acked.
    let command = message("alice", deposit("acc-crash", 700));
    handle_command(&app.event_store().await, &command, 10)
        .await
        .unwrap();
    // JetStream redelivers it (here: the same message queued again).
    let bus = app.bus().await;
    bus.publish_command(&command).await.unwrap();

    let frames = status_frames(&mut socket, 2, Duration::from_secs(10)).await;
    assert_eq!(frames.len(), 1, "exactly one outcome: {frames:?}");
    assert_eq!(
        (
            frames[0]["commandId"].as_str(),
            frames[0]["status"].as_str()
        ),
        (
            Some(command.command_id.to_string().as_str()),
            Some("succeeded")
        )
    );
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["balance"] == "7.00"
    })
    .await;
    assert_eq!(
        app.balance_and_version(&alice, "acc-crash").await,
        (Some(700), Some(2)),
        "applied once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_end_in_a_failed_envelope_and_consumers_carry_on() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    let bus = app.bus().await;
    let subjects = &bus.subjects;
    // A command that names its sender but is not a command.
    let poison_id = Uuid::now_v7();
    let poison = json!({"commandId": poison_id, "userId": "alice", "command": {"type": "Launch"}});
    bus.publish_json(
        format!("{}.cmd.0.acc-p", subjects.prefix()),
        &poison_id.to_string(),
        &poison,
    )
    .await
    .unwrap();
    // Garbage on the command and event subjects from a buggy publisher.
    for subject in [
        format!("{}.cmd.1.acc-p", subjects.prefix()),
        subjects.event(&AccountId::parse("acc-p").unwrap()),
    ] {
        bus.js
            .publish(subject, Bytes::from_static(b"\x00not json"))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let frames = status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    assert_eq!(frames[0]["commandId"], poison_id.to_string());
    assert_eq!(
        (
            frames[0]["status"].as_str(),
            frames[0]["error"]["code"].as_str()
        ),
        (Some("failed"), Some("INVALID_COMMAND"))
    );
    // Everything still works afterwards.
    app.open_account_with(&alice, "acc-p", 3).await;
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["balance"] == "3.00"
    })
    .await;
    // Terminated, not redelivered: the work queue is empty.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = bus.js.get_stream(subjects.commands_stream()).await.unwrap();
        if stream.info().await.unwrap().state.messages == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison messages stay queued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_waited_past_its_deadline_fails_with_timeout() {
    let app = spawn_app_with(|c| c.command_deadline_secs = 2).await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    app.open_account(&alice, "acc-t").await;
    status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    let mut stale = message("alice", deposit("acc-t", 100));
    stale.accepted_at -= Duration::from_secs(60);
    app.bus().await.publish_command(&stale).await.unwrap();
    let frames = status_frames(&mut socket, 1, Duration::from_secs(10)).await;
    assert_eq!(
        (
            frames[0]["status"].as_str(),
            frames[0]["error"]["code"].as_str()
        ),
        (Some("failed"), Some("TIMEOUT"))
    );
    // The API knows the outcome too: it asks the event store.
    let path = format!("/commands/{}", stale.command_id);
    app.eventually(&alice, &path, |o| o["status"] == "failed")
        .await;
    let (_, account) = app.get(&alice, "/queries/account/acc-t").await;
    assert_eq!(
        account["balance"], "0.00",
        "a timed-out command is never applied"
    );
}
