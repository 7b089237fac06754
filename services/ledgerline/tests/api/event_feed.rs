//! The read models of one process share one delivery of each event: in
//! `ledgerline all` the event stream has one durable consumer for the
//! balance, history and audit read models together; split into processes,
//! each keeps its own (see `split_mode`).

use futures::StreamExt;
use ledgerline_bus::Bus;

use crate::helpers::spawn_app;

/// The durable consumers on the event stream, sorted (the socket
/// service's ordered consumer has no durable name), once there are
/// `expected` of them or 10 s have passed. A read model that starts from
/// the event store can be at the head before its feed's consumer is
/// created (bootstrap first, then the consumer).
pub async fn event_durables(bus: &Bus, expected: usize) -> Vec<String> {
    let mut durables = durables_now(bus).await;
    for _ in 0..100 {
        if durables.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        durables = durables_now(bus).await;
    }
    durables
}

async fn durables_now(bus: &Bus) -> Vec<String> {
    let stream = bus
        .js
        .get_stream(bus.subjects.events_stream())
        .await
        .unwrap();
    let mut durables: Vec<String> = stream
        .consumers()
        .filter_map(|info| async move { info.ok()?.config.durable_name })
        .collect()
        .await;
    durables.sort();
    durables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_follows_the_event_stream_once_for_all_its_read_models() {
    let app = spawn_app().await;
    let alice = app.token("alice").await;
    let ops = app.token_with_role("ops", Some("operator")).await;
    app.open_account_with(&alice, "acc-feed", 10).await;
    app.deposit(&alice, "acc-feed", 5).await;

    // Every read model has both events: its checkpoint is at the head.
    app.eventually(&ops, "/projections", |overview| {
        overview["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["status"] == "live" && i["lag"] == 0))
    })
    .await;

    let durables = event_durables(&app.bus().await, 1).await;
    assert_eq!(durables, ["audit-service_balance-service_history-service"]);
}
