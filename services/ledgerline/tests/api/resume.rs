//! Socket resume: a client that reconnects with what it last saw gets
//! exactly what it missed — no gap, no duplicate — then live frames.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, connect_socket, frames_until_quiet, status_frames};

/// The resume query for what `frames` contained.
fn resume_point(frames: &[Value]) -> String {
    let status_seq = frames
        .iter()
        .filter_map(|f| f["seq"].as_u64().filter(|_| f["type"] == "status"))
        .max()
        .unwrap_or(0);
    let event_position = frames
        .iter()
        .flat_map(|f| match f["type"].as_str() {
            Some("status") => f["events"].as_array().cloned().unwrap_or_default(),
            Some("event") => vec![f["event"].clone()],
            _ => vec![],
        })
        .filter_map(|e| e["globalPosition"].as_i64())
        .max()
        .unwrap_or(0);
    format!("&statusSeq={status_seq}&eventPosition={event_position}")
}

fn command_ids(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["type"] == "status")
        .map(|f| f["commandId"].as_str().unwrap().to_owned())
        .collect()
}

fn event_versions(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "event")
        .map(|f| f["event"]["version"].as_i64().unwrap())
        .collect()
}

async fn resume_gets_exactly_what_was_missed(app: &TestApp, port: u16) {
    let alice = app.token("alice").await;
    // The first two status frames are read inside miss_three_commands; the
    // resume point covers them and the events they carried.
    let mut first = app.socket(&alice).await;
    app.accepted(
        &alice,
        "open-account",
        json!({"accountId": "acc-r", "initialBalance": 10}),
    )
    .await;
    app.accepted(
        &alice,
        "deposit",
        json!({"accountId": "acc-r", "amount": 5}),
    )
    .await;
    let mut seen = status_frames(&mut first, 2, Duration::from_secs(10)).await;
    seen.extend(frames_until_quiet(&mut first, Duration::from_millis(700)).await);
    let point = resume_point(&seen);
    drop(first);
    let missed = vec![
        app.accepted(
            &alice,
            "deposit",
            json!({"accountId": "acc-r", "amount": 1}),
        )
        .await,
        app.accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-r", "amount": 2}),
        )
        .await,
        app.accepted(
            &alice,
            "withdraw",
            json!({"accountId": "acc-r", "amount": 999}),
        )
        .await,
    ];
    app.eventually(&alice, "/projections/AccountBalances", |b| {
        b["items"][0]["version"] == 4
    })
    .await;
    // Give the last (rejected) outcome time to be published too.
    app.eventually(&alice, &format!("/commands/{}", missed[2]), |c| {
        c["status"] == "rejected"
    })
    .await;

    let mut socket = connect_socket(port, &alice, &point).await;
    let replayed = frames_until_quiet(&mut socket, Duration::from_millis(1500)).await;
    assert_eq!(
        command_ids(&replayed),
        missed,
        "every missed outcome once, in order: {replayed:#?}"
    );
    assert_eq!(
        event_versions(&replayed),
        [3, 4],
        "every missed event once: {replayed:#?}"
    );

    // Then live frames, each once.
    let live = app
        .accepted(
            &alice,
            "deposit",
            json!({"accountId": "acc-r", "amount": 3}),
        )
        .await;
    let after = frames_until_quiet(&mut socket, Duration::from_millis(1500)).await;
    assert_eq!(command_ids(&after), [live]);
    assert_eq!(event_versions(&after), [5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_gets_exactly_what_it_missed_then_live_frames() {
    let app = crate::helpers::spawn_app().await;
    resume_gets_exactly_what_was_missed(&app, app.port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_needs_nothing_from_the_socket_service_that_served_before() {
    let app = crate::helpers::spawn_app().await;
    // A socket service that was not running when anything happened.
    let (port, shutdown) = app.spawn_socket_service().await;
    resume_gets_exactly_what_was_missed(&app, port).await;
    shutdown.cancel();
}
