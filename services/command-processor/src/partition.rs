//! A partition's decision loop: its durable consumer's commands, a group
//! at a time (see `group`), strictly in the order they were accepted — one
//! replica at a time runs it, while it holds the partition's lease.

use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_runtime::Shutdown;
use ledgerline_runtime::tuning::{ACK_WAIT, GROUP_SIZE};
use ledgerline_store::EventStore;

use crate::account_cache::{AccountCache, CACHED_ACCOUNTS};
use crate::barrier::Barrier;
use crate::decision::DecisionPolicy;
use crate::gap::ConsumerSequence;
use crate::group::decide_deliveries;
use crate::hand_back::hand_back;
use crate::told::ToldMarks;

/// How long to wait before binding the consumer again after NATS refused:
/// soon enough to be back within a fraction of AckWait.
const REBIND_AFTER: Duration = Duration::from_secs(1);
/// How often a partition holding deliveries behind a barrier looks again
/// (and extends the held deliveries' AckWait).
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// The durable consumer of a partition's commands.
pub fn durable_name(partition: u32) -> String {
    format!("command-processor-p{partition}")
}

/// Decides one partition's commands in the order they were accepted, a
/// group at a time, so an account's commands are applied in that order.
pub async fn run_partition<S: EventStore>(
    bus: Bus,
    store: S,
    marks: ToldMarks,
    partition: u32,
    policy: DecisionPolicy,
    shutdown: Shutdown,
) {
    let filter = bus.subjects.command_partition(partition);
    let mut cache = AccountCache::new(CACHED_ACCOUNTS);
    while !shutdown.is_cancelled() {
        let mut consumer = match bus
            .durable_consumer(
                &bus.subjects.commands_stream(),
                &durable_name(partition),
                filter.clone(),
                ACK_WAIT,
            )
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, partition, "cannot bind command consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => break, () = tokio::time::sleep(REBIND_AFTER) => continue }
            }
        };
        // Deliveries an earlier owner left unacknowledged, or that went
        // astray later, are decided before anything after them (see
        // `barrier` and `gap`).
        let mut barrier = Barrier::at_bind(consumer.cached_info(), &filter);
        let mut sequence = ConsumerSequence::at_bind(consumer.cached_info());
        let messages = match consumer.messages().await {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, partition, "cannot pull commands; retrying");
                tokio::time::sleep(REBIND_AFTER).await;
                continue;
            }
        };
        // Every command already waiting (up to a group's worth) is decided
        // together; a quiet partition decides each as it comes.
        let mut groups = messages.ready_chunks(GROUP_SIZE);
        let mut look_again = tokio::time::interval(LOOK_AGAIN);
        loop {
            let next = tokio::select! {
                // Cancellation first: a task whose lease is gone takes no
                // further group, and hands back what it holds.
                biased;
                () = shutdown.cancelled() => None,
                next = groups.next() => Some(next),
                _ = look_again.tick(), if barrier.is_some() => Some(Some(Vec::new())),
            };
            let Some(next) = next else {
                return hand_back(&bus, partition, groups, barrier, Vec::new()).await;
            };
            let Some(group) = next else { break };
            let mut deliveries = Vec::with_capacity(group.len());
            for delivery in group {
                match delivery {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(error) => tracing::warn!(%error, partition, "command stream error"),
                }
            }
            if sequence.broken_by(&deliveries) {
                let delivered = delivered_so_far(&mut consumer, &sequence, partition).await;
                match barrier.as_mut() {
                    Some(held) => held.raise(delivered),
                    None => barrier = Some(Barrier::up_to(delivered, &filter)),
                }
            }
            if let Some(held) = barrier.as_mut() {
                let mut now = held.hold(deliveries);
                now.extend(held.ready(&bus).await);
                deliveries = now;
            }
            if shutdown.is_cancelled() {
                return hand_back(&bus, partition, groups, barrier, deliveries).await;
            }
            if !deliveries.is_empty() {
                decide_deliveries(
                    &bus, &store, &marks, &mut cache, deliveries, policy, &shutdown,
                )
                .await;
            }
            let Some(held) = barrier.as_mut() else {
                continue;
            };
            if held.lifted(&bus).await {
                barrier = None;
            } else {
                held.extend_held().await;
            }
        }
    }
}

/// How far the consumer has delivered, once deliveries went astray: the
/// barrier goes up over all of it.
async fn delivered_so_far(
    consumer: &mut PullConsumer,
    sequence: &ConsumerSequence,
    partition: u32,
) -> u64 {
    let delivered = match consumer.info().await {
        Ok(info) => info.delivered.stream_sequence,
        Err(error) => {
            tracing::warn!(%error, partition, "cannot ask the consumer how far it delivered");
            sequence.highest_stream()
        }
    };
    tracing::warn!(
        partition,
        delivered,
        "deliveries went astray; holding the next ones until they are back"
    );
    delivered
}
