//! Group commit: commands waiting on a partition are decided together, in
//! one transaction, and still exactly as one-at-a-time would decide them.

use std::time::Duration;

use ledgerline::Target;

use crate::bursts::{ALL_BUT_THE_PROCESSOR, assert_decided_as_one_at_a_time, burst, publish};
use crate::helpers::spawn_services;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_commands_are_decided_together_exactly_as_one_at_a_time() {
    let app = spawn_services(&ALL_BUT_THE_PROCESSOR, |_| {}).await;
    let bus = app.bus().await;
    let messages = burst(["acc-g1", "acc-g2", "acc-g3"]);
    // Everything is queued before the processor starts, so it finds whole
    // groups waiting.
    publish(&bus, &messages).await;
    let (_, processor) = app.spawn_service(Target::CommandProcessor).await;

    let store = app.event_store().await;
    assert_decided_as_one_at_a_time(&store, &messages).await;
    // Fewer transactions than commands: they were committed in groups.
    let (events, transactions): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT tx_id::text) FROM events")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(
        transactions < events,
        "{events} events in {transactions} transactions"
    );

    // One status envelope per command on the stream, no more.
    let mut statuses = bus
        .js
        .get_stream(bus.subjects.status_stream())
        .await
        .unwrap();
    let mut published = 0;
    for _ in 0..100 {
        published = statuses.info().await.unwrap().state.messages;
        if published >= messages.len() as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(published, messages.len() as u64);
    processor.cancel();
}
