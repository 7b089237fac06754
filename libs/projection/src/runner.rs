use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::StreamExt;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::Shutdown;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::apply::{Applied, apply_healing};
use crate::batch::{LINGER, handle_batch};
use crate::{BATCH_SIZE, ReadModelDb};

/// One read model: how an event changes it.
pub trait Projector: Clone + Send + Sync + 'static {
    /// The read model's name, e.g. `AccountBalances`.
    const NAME: &'static str;
    /// The durable consumer's name, e.g. `balance-service`.
    const DURABLE: &'static str;

    /// Applies one event inside the caller's transaction.
    fn apply(
        &self,
        tx: &mut PgConnection,
        event: &EventEnvelope,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Applies `events` inside the caller's transaction: in order, each the
    /// next version of its account (duplicates and gaps are already dealt
    /// with). The default applies them one by one; a projector may instead
    /// fold them in memory and write a few set-based statements.
    fn apply_all(
        &self,
        tx: &mut PgConnection,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async move {
            for event in events {
                self.apply(&mut *tx, event).await?;
            }
            Ok(())
        }
    }

    /// Copies into a rebuilt schema what the read model holds that the
    /// event store does not (the audit log's command outcomes). Called at
    /// the start of a rebuild and again, with writers paused, just before
    /// the switch; it must skip what it copied before.
    fn carry_over(
        &self,
        _tx: &mut PgConnection,
        _live: &str,
        _shadow: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }
}

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
                ack_wait: Duration::from_secs(10),
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())
}

/// Follows the event stream until shutdown, reconnecting through faults.
/// Every event that arrives within [`crate::batch::LINGER`] (20 ms) of the
/// first, up to [`crate::BATCH_SIZE`], is applied in one transaction
/// together with the checkpoint and acked after the commit (see
/// [`crate::batch`]); a lone event waits those 20 ms.
pub async fn run_projector<P: Projector>(
    bus: Bus,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    run_projector_from(bus, db, projector, shutdown, None).await
}

pub(crate) async fn run_projector_from<P: Projector>(
    bus: Bus,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
    start: Option<OffsetDateTime>,
) {
    while !shutdown.is_cancelled() {
        let consumer = match bind_consumer(&bus, P::DURABLE, start).await {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, projection = P::NAME, "cannot bind consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        let Ok(messages) = consumer.messages().await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        // What arrives within LINGER of the first event, up to a batch:
        // under load one commit carries many events (and leaves the WAL
        // to the commands' own commits); alone, an event waits LINGER.
        let mut batches = std::pin::pin!(tokio_stream::StreamExt::chunks_timeout(
            messages, BATCH_SIZE, LINGER
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
            handle_batch(&bus, &db, &projector, deliveries).await;
        }
    }
}

/// Decodes a delivery; an undecodable one is terminated (a buggy publisher
/// must not stop the read model).
pub(crate) async fn decode<P: Projector>(delivery: &Delivery) -> Option<EventEnvelope> {
    match serde_json::from_slice(&delivery.payload) {
        Ok(e) => Some(e),
        Err(error) => {
            tracing::warn!(%error, subject = %delivery.subject, projection = P::NAME, "undecodable event terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
            None
        }
    }
}

pub(crate) fn count_applied<P: Projector>(events: u64, position: i64) {
    metrics::counter!("ledgerline_projection_events_total", "projection" => P::NAME)
        .increment(events);
    metrics::gauge!("ledgerline_projection_position", "projection" => P::NAME).set(position as f64);
}

/// Applies one event in its own transaction (healing a gap first), then
/// acks it — or NAKs it to come back later (a gap not healed yet, a
/// database fault). The fallback of a batch that failed.
pub(crate) async fn apply_and_settle<P: Projector>(
    bus: &Bus,
    db: &ReadModelDb,
    projector: &P,
    delivery: &Delivery,
    event: &EventEnvelope,
) {
    let pool = db.pool();
    let result = apply_healing(bus, &pool, Some(db.schema()), projector, event).await;
    match result {
        Ok(applied @ (Applied::Done | Applied::Duplicate)) => {
            let _ = delivery.ack().await;
            if matches!(applied, Applied::Done) {
                count_applied::<P>(1, event.global_position);
            }
        }
        Ok(Applied::Gap { seen }) => {
            tracing::info!(account = %event.aggregate_id, seen, got = event.version, projection = P::NAME, "gap not healed yet; retrying");
            let _ = delivery
                .ack_with(AckKind::Nak(Some(Duration::from_millis(500))))
                .await;
        }
        Err(error) => {
            tracing::warn!(%error, projection = P::NAME, "cannot apply event; will retry");
            let _ = delivery
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
        }
    }
}
