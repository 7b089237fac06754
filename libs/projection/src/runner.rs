//! The live projector: the feed's durable pull consumer on `bank.evt.>`,
//! followed until shutdown, its deliveries applied in batches to every
//! read model of the process and acked once.

use std::sync::Arc;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::future::join_all;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::{Paced, Shutdown};
use ledgerline_store::StoreReads;
use time::OffsetDateTime;

use crate::batch::Verdict;
use crate::feed::{Member, ReadModelMember, StartFrom, durable_of, start_of};
use crate::projector::Projector;
use crate::read_model::ReadModelDb;
use crate::sources::Sources;
use ledgerline_runtime::tuning::{ACK_WAIT, BATCH_EVERY, GROUP_SIZE, MAX_ACK_PENDING};

use crate::tuning::REBIND_AFTER;

/// The feed's durable consumer on `bank.evt.>`. A new one starts at
/// `start` when given (read models bootstrapped from the event store need
/// only what was published since), else at the stream's beginning; an
/// existing one resumes where it was.
async fn bind_consumer(
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

async fn consumer_exists(bus: &Bus, durable: &str) -> bool {
    match bus.js.get_stream(bus.subjects.events_stream()).await {
        Ok(stream) => stream.get_consumer::<pull::Config>(durable).await.is_ok(),
        Err(_) => false,
    }
}

/// Follows the event stream for one read model alone: a feed of one, on
/// the projector's own durable consumer.
pub async fn run_projector<P: Projector>(
    sources: Sources,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    let member = ReadModelMember {
        projector,
        db,
        start_from: StartFrom::Stream,
    };
    run_feed(sources, vec![Arc::new(member)], shutdown).await
}

/// Follows the event stream for `members` until shutdown, reconnecting
/// through faults. A consumer that does not exist yet is created where
/// [`start_of`] says, after the members that start from the event store
/// have replayed it. Events are taken a batch at a time, at most one batch
/// every [`BATCH_EVERY`] and [`GROUP_SIZE`] events (`Paced`: an event
/// after a quiet spell goes at once): each member applies the batch in one
/// transaction of its own together with its checkpoint (the members side
/// by side), and an event is acked after every member has it, NAKed
/// otherwise — a member that had it already skips it when it comes back.
pub(crate) async fn run_feed(sources: Sources, members: Vec<Arc<dyn Member>>, shutdown: Shutdown) {
    let durable = durable_of(&members);
    let Sources { bus, store, .. } = sources;
    let start = match consumer_exists(&bus, &durable).await {
        true => None,
        false => tokio::select! {
            () = shutdown.cancelled() => return,
            start = start_of(&members, &store) => start,
        },
    };
    while !shutdown.is_cancelled() {
        let consumer = match bind_consumer(&bus, &durable, start).await {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, durable, "cannot bind the event consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(REBIND_AFTER) => continue }
            }
        };
        let Ok(messages) = consumer.messages().await else {
            tokio::time::sleep(REBIND_AFTER).await;
            continue;
        };
        // Under load one commit carries many events (and leaves the WAL
        // to the commands' own commits); alone, an event goes at once.
        let mut batches = Paced::new(messages, GROUP_SIZE, BATCH_EVERY);
        loop {
            let next =
                tokio::select! { () = shutdown.cancelled() => return, n = batches.next() => n };
            let Some(chunk) = next else { break };
            let mut deliveries = Vec::with_capacity(chunk.len());
            let mut events = Vec::with_capacity(chunk.len());
            for item in chunk {
                match item {
                    Ok(delivery) => {
                        if let Some(event) = decode(&delivery, &durable).await {
                            deliveries.push(delivery);
                            events.push(event);
                        }
                    }
                    Err(error) => tracing::warn!(%error, durable, "event stream error"),
                }
            }
            // Shutdown waits for the batch in hand: it is committed and
            // acked, or rolled back and redelivered, never half of each.
            handle_batch(store.as_ref(), &members, &deliveries, &events).await;
        }
    }
}

/// Applies a batch to every member at once and answers each delivery:
/// acked when all have it — after their commits, never before: an unacked
/// event comes back — else NAKed to come back after the longest wait
/// asked for.
async fn handle_batch(
    store: &dyn StoreReads,
    members: &[Arc<dyn Member>],
    deliveries: &[Delivery],
    events: &[EventEnvelope],
) {
    if events.is_empty() {
        return;
    }
    let judged = join_all(members.iter().map(|m| m.apply(store, deliveries, events))).await;
    let verdicts = judged
        .into_iter()
        .fold(vec![Verdict::Applied; events.len()], |all, one| {
            all.into_iter().zip(one).map(|(a, b)| a.and(b)).collect()
        });
    let answers = deliveries
        .iter()
        .zip(verdicts)
        .map(|(delivery, verdict)| match verdict {
            Verdict::Applied => delivery.ack_with(AckKind::Ack),
            Verdict::RetryAfter(delay) => delivery.ack_with(AckKind::Nak(Some(delay))),
        });
    let _ = join_all(answers).await;
}

/// Decodes a delivery; an undecodable one is terminated (a buggy publisher
/// must not stop the read models).
async fn decode(delivery: &Delivery, durable: &str) -> Option<EventEnvelope> {
    match serde_json::from_slice(&delivery.payload) {
        Ok(e) => Some(e),
        Err(error) => {
            tracing::warn!(%error, subject = %delivery.subject, durable, "undecodable event terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
            None
        }
    }
}
