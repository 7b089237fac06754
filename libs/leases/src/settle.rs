//! How long a new owner must wait before working through a partition.
//!
//! The previous owner may have left messages delivered but unacknowledged:
//! prefetched by its pull (up to a batch), or in hand when it crashed or
//! its lease ran out. JetStream hands those out again only once their
//! AckWait has passed — but it hands a new puller the *next* messages
//! straight away, so a new owner that started at once could handle a later
//! message before an earlier one (for the command processor: an account's
//! later command before its earlier one). Redeliveries are served before
//! new messages, so waiting one AckWait whenever anything is still
//! unacknowledged puts the old messages back first. With nothing
//! unacknowledged (an idle partition, a first start) there is no wait.
//!
//! An owner that lets a partition go on purpose (a rolling restart, a
//! scale-up) leaves nothing to wait for: once its task has ended, and
//! while it still holds the lease, it hands the unacknowledged messages
//! back ([`hand_back`]) by making the partition's consumer anew. A work
//! queue keeps every message until it is acknowledged, whatever happens to
//! its consumers, and a new consumer starts at the oldest message still
//! queued — so the next owner gets the old messages first, at once.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, DeliverPolicy};
use async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
use async_nats::jetstream::{Context, ErrorCode};

use crate::bucket::{bounded, nats};
use crate::config::WorkQueue;
use crate::error::LeaseError;

/// Slack for JetStream's redelivery timer, which checks expired acks on
/// its own schedule.
const TIMER_SLACK: Duration = Duration::from_secs(1);

/// The wait before `partition`'s task may start. When the consumer cannot
/// be asked, `fallback` (at least any AckWait in use) keeps it safe.
pub async fn wait_before_start(
    js: &Context,
    queue: &WorkQueue,
    partition: u32,
    fallback: Duration,
    limit: Duration,
) -> Duration {
    let stream = match tokio::time::timeout(limit, js.get_stream(&queue.stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) if matches!(e.kind(), GetStreamErrorKind::JetStream(ref error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND) =>
        {
            return Duration::ZERO;
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, partition, stream = %queue.stream, "cannot see the work queue's stream; waiting one AckWait to be safe");
            return fallback;
        }
        Err(_) => return fallback,
    };
    match tokio::time::timeout(limit, stream.consumer_info((queue.durable)(partition))).await {
        Ok(Ok(info)) if info.num_ack_pending > 0 => {
            tracing::info!(
                partition,
                unacknowledged = info.num_ack_pending,
                "the previous owner left messages unacknowledged; waiting for their redelivery"
            );
            info.config.ack_wait + TIMER_SLACK
        }
        Ok(Ok(_)) => Duration::ZERO,
        Ok(Err(e))
            if matches!(
                e.kind(),
                ConsumerInfoErrorKind::NotFound | ConsumerInfoErrorKind::StreamNotFound
            ) =>
        {
            Duration::ZERO
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, partition, "cannot see the partition's consumer; waiting one AckWait to be safe");
            fallback
        }
        Err(_) => fallback,
    }
}

/// Hands back what `partition`'s consumer delivered and nobody acknowledged,
/// so that the next owner need not wait for it: the consumer is deleted and
/// made again with the same configuration (from the oldest message still
/// queued). Only for the owner that still holds the partition's lease and
/// whose task has ended — nobody else can be reading the consumer then.
/// `Ok(n)`: how many were handed back (0: nothing was pending, nothing
/// done). An error leaves the next owner to wait, as before.
pub async fn hand_back(
    js: &Context,
    queue: &WorkQueue,
    partition: u32,
    limit: Duration,
) -> Result<u64, LeaseError> {
    let durable = (queue.durable)(partition);
    // The ended task's acknowledgements go first, so that only what is
    // really unacknowledged counts (one lost costs a redelivery, no more).
    bounded("flushing acknowledgements", limit, js.client().flush()).await?;
    let stream = bounded(
        "finding the work queue",
        limit,
        js.get_stream(&queue.stream),
    )
    .await?;
    let info = match tokio::time::timeout(limit, stream.consumer_info(&durable)).await {
        Ok(Ok(info)) => info,
        Ok(Err(e))
            if matches!(
                e.kind(),
                ConsumerInfoErrorKind::NotFound | ConsumerInfoErrorKind::StreamNotFound
            ) =>
        {
            return Ok(0);
        }
        Ok(Err(e)) => return Err(nats("reading the consumer")(&e)),
        Err(_) => {
            return Err(LeaseError::Nats {
                what: "reading the consumer",
                message: format!("no answer within {limit:?}"),
            });
        }
    };
    let pending = info.num_ack_pending as u64;
    if pending == 0 {
        return Ok(0);
    }
    let config = consumer::Config {
        deliver_policy: DeliverPolicy::All,
        ..info.config
    };
    bounded(
        "deleting the consumer",
        limit,
        stream.delete_consumer(&durable),
    )
    .await?;
    bounded(
        "making the consumer again",
        limit,
        stream.create_consumer(config),
    )
    .await?;
    Ok(pending)
}
