//! The live projector: a durable pull consumer on `bank.evt.>`, followed
//! until shutdown, its deliveries handed over in batches.

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::StreamExt;
use ledgerline_bus::Bus;
use ledgerline_runtime::Shutdown;
use time::OffsetDateTime;

use crate::batch::handle_batch;
use crate::projector::Projector;
use crate::read_model::ReadModelDb;
use crate::sources::Sources;
use ledgerline_runtime::tuning::{ACK_WAIT, GROUP_SIZE, LINGER, MAX_ACK_PENDING};

use crate::tuning::REBIND_AFTER;

/// The projector's durable consumer on `bank.evt.>`. A new one starts at
/// `start` when given (a read model bootstrapped from the event store needs
/// only what was published since), else at the stream's beginning; an
/// existing one resumes where it was.
pub(crate) async fn bind_consumer(
    bus: &Bus,
    durable: &str,
    start: Option<OffsetDateTime>,
) -> Result<PullConsumer, String> {
    let stream = bus
        .js
        .get_stream(bus.subjects.events_stream())
        .await
        .map_err(|e| e.to_string())?;
    let deliver_policy = match start {
        Some(start_time) => DeliverPolicy::ByStartTime { start_time },
        None => DeliverPolicy::All,
    };
    stream
        .get_or_create_consumer(
            durable,
            pull::Config {
                durable_name: Some(durable.to_owned()),
                filter_subject: bus.subjects.all_events(),
                ack_policy: AckPolicy::Explicit,
                deliver_policy,
                ack_wait: ACK_WAIT,
                max_ack_pending: MAX_ACK_PENDING,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())
}

/// Follows the event stream until shutdown, reconnecting through faults.
/// Every event that arrives within [`LINGER`] (20 ms) of the first, up to
/// [`GROUP_SIZE`], is applied in one transaction together with the
/// checkpoint and acked after the commit (see [`crate::batch`]); a lone
/// event waits those 20 ms.
pub async fn run_projector<P: Projector>(
    sources: Sources,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    run_projector_from(sources, db, projector, shutdown, None).await
}

pub(crate) async fn run_projector_from<P: Projector>(
    sources: Sources,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
    start: Option<OffsetDateTime>,
) {
    while !shutdown.is_cancelled() {
        let consumer = match bind_consumer(&sources.bus, P::DURABLE, start).await {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, projection = P::NAME, "cannot bind consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(REBIND_AFTER) => continue }
            }
        };
        let Ok(messages) = consumer.messages().await else {
            tokio::time::sleep(REBIND_AFTER).await;
            continue;
        };
        // What arrives within LINGER of the first event, up to a batch:
        // under load one commit carries many events (and leaves the WAL
        // to the commands' own commits); alone, an event waits LINGER.
        let mut batches = std::pin::pin!(tokio_stream::StreamExt::chunks_timeout(
            messages, GROUP_SIZE, LINGER
        ));
        loop {
            let next =
                tokio::select! { () = shutdown.cancelled() => return, n = batches.next() => n };
            let Some(chunk) = next else { break };
            let mut deliveries = Vec::with_capacity(chunk.len());
            for item in chunk {
                match item {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(error) => {
                        tracing::warn!(%error, projection = P::NAME, "event stream error")
                    }
                }
            }
            // Shutdown waits for the batch in hand: it is committed and
            // acked, or rolled back and redelivered, never half of each.
            handle_batch(sources.store.as_ref(), &db, &projector, deliveries).await;
        }
    }
}
