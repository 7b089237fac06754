//! The socket service follows every event and status with one subscription
//! apiece per process: a user with hundreds of accounts costs no consumer,
//! and each account's events still reach its owner's sockets only.

use std::time::Duration;

use futures::StreamExt;
use ledgerline_bus::Bus;
use serde_json::{Value, json};

use crate::helpers::{Socket, TestApp, frames_until_quiet, spawn_app};

const ACCOUNTS: usize = 300;

async fn consumers(bus: &Bus, stream: String) -> usize {
    let mut stream = bus.js.get_stream(stream).await.unwrap();
    stream.info().await.unwrap().state.consumer_count
}

/// The JetStream consumers on the events and status streams.
async fn consumer_counts(app: &TestApp) -> (usize, usize) {
    let bus = app.bus().await;
    (
        consumers(&bus, bus.subjects.events_stream()).await,
        consumers(&bus, bus.subjects.status_stream()).await,
    )
}

fn events_of<'a>(frames: &'a [Value], account: &str) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "event" && f["event"]["aggregateId"] == account)
        .collect()
}

/// Frames until `account` has had an event of `event_type` (10 s at most).
async fn until_event(socket: &mut Socket, account: &str, event_type: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        frames.extend(frames_until_quiet(socket, Duration::from_millis(300)).await);
        if events_of(&frames, account)
            .iter()
            .any(|f| f["event"]["eventType"] == event_type)
        {
            return frames;
        }
    }
    panic!("no {event_type} of {account}: {frames:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_300_accounts_gets_live_events_with_no_consumer_per_account() {
    let app = spawn_app().await;
    let (alice, bob) = (app.token("alice").await, app.token("bob").await);
    let ops = app.token_with_role("ops", Some("operator")).await;

    let opened: Vec<String> = futures::stream::iter(0..ACCOUNTS)
        .map(|i| {
            let body = json!({"accountId": format!("acc-{i:03}"), "initialBalance": 10});
            app.accepted(&alice, "open-account", body)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(opened.len(), ACCOUNTS);
    app.open_account_with(&bob, "acc-bob", 100).await;
    app.eventually(&ops, "/stats", |s| {
        s["eventsByType"]["AccountOpened"] == ACCOUNTS + 1
    })
    .await;
    // Counted once the process has long been up: its own consumers start
    // beside the readiness checks, not before them.
    let before = consumer_counts(&app).await;

    let started = tokio::time::Instant::now();
    let mut tab1 = app.socket(&alice).await;
    let welcomed_in = started.elapsed();
    let mut tab2 = app.socket(&alice).await;
    let mut bobs = app.socket(&bob).await;
    // A feed consumer the client recreated (after a missed heartbeat on a
    // busy machine) is counted twice until the old one expires; a consumer
    // per socket, user or account would stay.
    let mut after = consumer_counts(&app).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while after != before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = consumer_counts(&app).await;
    }
    assert_eq!(
        after, before,
        "sockets, users and accounts add no JetStream consumer"
    );

    // An account found by the lookup at join: its owner's sockets, each once.
    app.deposit(&alice, "acc-150", 5).await;
    for tab in [&mut tab1, &mut tab2] {
        let frames = until_event(tab, "acc-150", "MoneyDeposited").await;
        let events = events_of(&frames, "acc-150");
        assert_eq!(events.len(), 1, "{frames:#?}");
        assert!(events[0]["seq"].as_u64().is_some(), "live events carry seq");
    }

    // A transfer credit arrives on the receiver's account: Alice's sockets
    // get it, Bob's get only his side.
    app.accepted(
        &bob,
        "transfer",
        json!({"fromAccountId": "acc-bob", "toAccountId": "acc-299", "amount": 7}),
    )
    .await;
    let frames = until_event(&mut tab1, "acc-299", "TransferCredited").await;
    assert_eq!(events_of(&frames, "acc-bob").len(), 0, "{frames:#?}");
    let bob_frames = until_event(&mut bobs, "acc-bob", "TransferDebited").await;
    assert!(
        bob_frames
            .iter()
            .all(|f| f["type"] != "event" || f["event"]["aggregateId"] == "acc-bob"),
        "{bob_frames:#?}"
    );

    // An account opened after the join is followed from its first event.
    app.open_account(&alice, "acc-new").await;
    app.deposit(&alice, "acc-new", 1).await;
    until_event(&mut tab2, "acc-new", "MoneyDeposited").await;
    assert!(
        welcomed_in < Duration::from_secs(5),
        "welcome took {welcomed_in:?}"
    );
}
