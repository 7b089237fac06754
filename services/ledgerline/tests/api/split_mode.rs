//! Every service in an `Application` of its own, on one NATS prefix and one
//! database — the split deployment — so every boundary is crossed over
//! NATS: a socket's command is accepted by the command API, the socket
//! learns a user's accounts and replays missed events from the event
//! store, `GET /commands/{id}` asks the store for the outcome, and
//! `GET /projections` gathers the other processes' read models.

use std::time::Duration;

use ledgerline::Target;
use serde_json::{Value, json};

use crate::event_feed::event_durables;
use crate::helpers::{connect_socket, next_frame, send_text, spawn_services, status_frames};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_deployment_crosses_every_boundary_over_nats() {
    let app = spawn_services(&[Target::CommandApi], |_| {}).await;
    let mut stops = Vec::new();
    let mut port_of = std::collections::HashMap::new();
    for target in [
        Target::EventStore,
        Target::CommandProcessor,
        Target::BalanceService,
        Target::HistoryService,
        Target::AuditService,
        Target::SocketService,
    ] {
        let (port, stop) = app.spawn_service(target).await;
        port_of.insert(format!("{target:?}"), port);
        stops.push(stop);
    }
    let port = |name: &str| port_of[name];
    let alice = app.token("alice").await;

    // A command over the socket: the socket service asks the command API.
    let mut socket = connect_socket(port("SocketService"), &alice, "").await;
    send_text(
        &mut socket,
        r#"{"type":"command","requestId":"r1","command":"open-account","body":{"accountId":"acc-split","initialBalance":10}}"#,
    )
    .await;
    let accepted = next_frame(&mut socket, Duration::from_secs(10))
        .await
        .expect("accepted frame");
    assert_eq!(accepted["type"], "accepted", "{accepted}");
    let opened = status_frames(&mut socket, 1, Duration::from_secs(15)).await;
    assert_eq!(opened[0]["status"], "succeeded", "{opened:?}");

    // A deposit over HTTP reaches the socket as an event of the account the
    // socket service learnt from the event store. The event and the status
    // come on feeds of their own, in either order: wait for both.
    let deposit = app.deposit(&alice, "acc-split", 5).await;
    let deposited = |f: &Value| f["type"] == "event" && f["event"]["eventType"] == "MoneyDeposited";
    let mut seen = Vec::new();
    while !(seen.iter().any(|f: &Value| f["type"] == "status") && seen.iter().any(deposited)) {
        match next_frame(&mut socket, Duration::from_secs(15)).await {
            Some(frame) => seen.push(frame),
            None => break,
        }
    }
    assert!(seen.iter().any(deposited), "{seen:?}");

    // The command API keeps no outcomes: it asks the event store.
    let outcome = app.outcome(&alice, &deposit).await;
    assert_eq!(
        (&outcome["status"], &outcome["kind"]),
        (&json!("succeeded"), &json!("deposit"))
    );

    // The balance service's process gathers the other read models' status.
    app.eventually_on(
        port("BalanceService"),
        Duration::from_secs(15),
        &alice,
        "/projections",
        |overview| {
            let live = overview["items"]
                .as_array()
                .map(|items| items.iter().filter(|i| i["status"] == "live").count())
                .unwrap_or_default();
            live == 4
        },
    )
    .await;

    // A socket that comes back replays what it missed from the event store.
    let (_, account) = app
        .get_on(port("EventStore"), &alice, "/queries/account/acc-split")
        .await;
    assert_eq!(account["balance"], "15.00", "{account}");
    let mut resumed = connect_socket(port("SocketService"), &alice, "&eventPosition=0").await;
    let mut events = Vec::new();
    while let Some(frame) = next_frame(&mut resumed, Duration::from_secs(2)).await {
        if frame["type"] == "event" {
            events.push(frame["event"]["version"].clone());
        }
    }
    assert_eq!(events, [json!(1), json!(2)], "every missed event, once");

    // Each read model's process follows the event stream on its own.
    assert_eq!(
        event_durables(&app.bus().await, 3).await,
        ["audit-service", "balance-service", "history-service"]
    );

    for stop in stops {
        stop.cancel();
    }
}
