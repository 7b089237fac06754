//! A leaving owner's hand-back. When a partition's task stops (its lease
//! let go at a rolling restart or a rebalance, or lost), the commands it
//! pulled but did not decide — the ones already arrived and not yet taken,
//! and those held behind its barrier — go back to the work queue at once
//! (NAK), in the order they were accepted. The next owner then gets them
//! straight away instead of after their AckWait; its own barrier (bound
//! while they are unacknowledged) keeps them ahead of the commands after
//! them.

use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::{FutureExt, Stream, StreamExt};
use ledgerline_bus::{Bus, Delivery};

use crate::barrier::Barrier;

/// How long a leaving owner tries to hand back: NATS may be why it is
/// leaving, and a task whose lease is gone must end soon.
const HAND_BACK_WITHIN: Duration = Duration::from_secs(1);

/// Hands back `deliveries`, what `groups` already received, and what
/// `barrier` holds. The pull is stopped first, so that nothing handed back
/// is handed to it again.
pub async fn hand_back<G, E>(
    bus: &Bus,
    partition: u32,
    mut groups: G,
    barrier: Option<Barrier>,
    mut deliveries: Vec<Delivery>,
) where
    G: Stream<Item = Vec<Result<Delivery, E>>> + Unpin,
{
    while let Some(Some(group)) = groups.next().now_or_never() {
        deliveries.extend(group.into_iter().filter_map(Result::ok));
    }
    // Unsubscribes: the server drops this pull's waiting requests.
    drop(groups);
    deliveries.extend(barrier.map(Barrier::into_held).unwrap_or_default());
    deliveries.sort_by_key(|d| d.info().map_or(u64::MAX, |i| i.stream_sequence));
    // Flushed even with nothing to hand back: the acks of the last group
    // decided reach NATS before the lease is let go, so the next owner
    // does not find them unacknowledged.
    let naks = async {
        for delivery in &deliveries {
            let _ = delivery.ack_with(AckKind::Nak(None)).await;
        }
        bus.client.flush().await
    };
    match tokio::time::timeout(HAND_BACK_WITHIN, naks).await {
        Ok(Ok(())) if deliveries.is_empty() => {}
        Ok(Ok(())) => tracing::info!(
            partition,
            handed_back = deliveries.len(),
            "undecided commands handed back"
        ),
        Ok(Err(error)) => {
            tracing::warn!(%error, partition, "cannot hand commands back; they come back after their AckWait")
        }
        Err(_) => tracing::warn!(
            partition,
            "NATS did not take the hand-back in time; the commands come back after their AckWait"
        ),
    }
}
