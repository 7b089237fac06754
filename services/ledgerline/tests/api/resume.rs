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
    app.open_account_with(&alice, "acc-r", 10).await;
    app.deposit(&alice, "acc-r", 5).await;
    let mut seen = status_frames(&mut first, 2, Duration::from_secs(10)).await;
    seen.extend(frames_until_quiet(&mut first, Duration::from_millis(700)).await);
    let point = resume_point(&seen);
    drop(first);
    let missed = vec![
        app.deposit(&alice, "acc-r", 1).await,
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
    let live = app.deposit(&alice, "acc-r", 3).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_closed_with_a_reason_and_resumes_without_loss() {
    use futures::StreamExt;
    use ledgerline_contracts::{StatusEnvelope, StatusError, StatusKind, StatusMessage};
    use ledgerline_domain::UserId;
    use tokio_tungstenite::tungstenite::Message;

    let app = crate::helpers::spawn_app_with(|c| c.socket_queue = 4).await;
    let alice = app.token("alice").await;
    let mut socket = app.socket(&alice).await;
    // Forty large outcomes while the client reads nothing: the socket's
    // buffers fill, then its queue, then the server gives up on it.
    let bus = app.bus().await;
    let padding = "x".repeat(400_000);
    let mut published = Vec::new();
    for _ in 0..40 {
        let id = uuid::Uuid::now_v7();
        let error = StatusError {
            code: "TEST".into(),
            message: padding.clone(),
        };
        let payload = StatusEnvelope::new(id, "acc-slow", Err((StatusKind::Failed, error)));
        bus.publish_status(&StatusMessage {
            user_id: UserId::parse("alice").unwrap(),
            payload,
        })
        .await
        .unwrap();
        published.push(id.to_string());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut seen, mut last_seq, mut reason, mut close) = (Vec::new(), 0, None, None);
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
    {
        match message {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                match frame["type"].as_str() {
                    Some("status") => {
                        last_seq = frame["seq"].as_u64().unwrap();
                        seen.push(frame["commandId"].as_str().unwrap().to_owned());
                    }
                    Some("error") => reason = frame["code"].as_str().map(str::to_owned),
                    _ => {}
                }
            }
            Message::Close(frame) => {
                close = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(reason.as_deref(), Some("SLOW_CONSUMER"));
    assert_eq!(
        close,
        Some(1008),
        "closed as a policy violation with a reason"
    );
    assert!(
        seen.len() < published.len(),
        "the server did not buffer everything: {}",
        seen.len()
    );
    // It reconnects and resumes: the rest arrives, nothing twice.
    let mut resumed = connect_socket(app.port, &alice, &format!("&statusSeq={last_seq}")).await;
    let mut rest = Vec::new();
    while rest.len() + seen.len() < published.len() {
        let frame = crate::helpers::next_frame(&mut resumed, Duration::from_secs(10))
            .await
            .expect("the missed outcomes arrive");
        if frame["type"] == "status" {
            rest.push(frame["commandId"].as_str().unwrap().to_owned());
        }
    }
    seen.extend(rest);
    assert_eq!(seen, published);
}
