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

use std::time::Duration;

use async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
use async_nats::jetstream::{Context, ErrorCode};

use crate::config::WorkQueue;

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
