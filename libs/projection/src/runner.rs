use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::Shutdown;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::checkpoint::{advance, seen_version};

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
}

enum Applied {
    Done,
    Duplicate,
    /// An earlier version of the account has not arrived yet.
    Gap {
        seen: i64,
    },
}

async fn apply_once<P: Projector>(
    pool: &PgPool,
    projector: &P,
    event: &EventEnvelope,
) -> Result<Applied, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let seen = seen_version(&mut tx, event.aggregate_id.as_str()).await?;
    if event.version <= seen {
        return Ok(Applied::Duplicate);
    }
    if event.version > seen + 1 {
        return Ok(Applied::Gap { seen });
    }
    projector.apply(&mut tx, event).await?;
    advance(
        &mut tx,
        P::NAME,
        event.aggregate_id.as_str(),
        event.version,
        event.global_position,
    )
    .await?;
    tx.commit().await?;
    Ok(Applied::Done)
}

/// Follows the event stream until shutdown, reconnecting through faults.
pub async fn run_projector<P: Projector>(bus: Bus, pool: PgPool, projector: P, shutdown: Shutdown) {
    let stream = bus.subjects.events_stream();
    while !shutdown.is_cancelled() {
        let consumer = match bus
            .durable_consumer(
                &stream,
                P::DURABLE,
                bus.subjects.all_events(),
                Duration::from_secs(10),
            )
            .await
        {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(%error, projection = P::NAME, "cannot bind consumer; retrying");
                tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(Duration::from_secs(1)) => continue }
            }
        };
        let Ok(mut messages) = consumer.messages().await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        loop {
            let next =
                tokio::select! { () = shutdown.cancelled() => return, n = messages.next() => n };
            match next {
                Some(Ok(delivery)) => {
                    let span = tracing::info_span!("projection.apply", projection = P::NAME);
                    ledgerline_telemetry::continue_from(&span, delivery.headers.as_ref(), None);
                    handle(&bus, &pool, &projector, delivery)
                        .instrument(span)
                        .await
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, projection = P::NAME, "event stream error")
                }
                None => break,
            }
        }
    }
}

async fn handle<P: Projector>(bus: &Bus, pool: &PgPool, projector: &P, delivery: Delivery) {
    let event: EventEnvelope = match serde_json::from_slice(&delivery.payload) {
        Ok(e) => e,
        Err(error) => {
            // A buggy publisher must not stop the read model: drop it for good.
            tracing::warn!(%error, subject = %delivery.subject, projection = P::NAME, "undecodable event terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
            return;
        }
    };
    let result = match apply_once(pool, projector, &event).await {
        Ok(Applied::Gap { seen }) => heal(bus, pool, projector, &event, seen).await,
        other => other.map_err(|e| e.to_string()),
    };
    match result {
        Ok(applied @ (Applied::Done | Applied::Duplicate)) => {
            let _ = delivery.ack().await;
            if matches!(applied, Applied::Done) {
                metrics::counter!("ledgerline_projection_events_total", "projection" => P::NAME)
                    .increment(1);
                metrics::gauge!("ledgerline_projection_position", "projection" => P::NAME)
                    .set(event.global_position as f64);
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

/// Versions `seen + 1 .. event.version` never arrived (a publish lost
/// between the processor's commit and JetStream): read them from the event
/// store through its owner, apply them in order, then the event itself.
async fn heal<P: Projector>(
    bus: &Bus,
    pool: &PgPool,
    projector: &P,
    event: &EventEnvelope,
    seen: i64,
) -> Result<Applied, String> {
    let missing = event.version - seen - 1;
    tracing::info!(account = %event.aggregate_id, seen, got = event.version, projection = P::NAME, "gap; healing from the event store");
    let earlier = bus
        .account_events(&event.aggregate_id, seen, missing)
        .await
        .map_err(|e| e.to_string())?;
    for earlier in earlier.iter().filter(|e| e.version < event.version) {
        apply_once(pool, projector, earlier)
            .await
            .map_err(|e| e.to_string())?;
    }
    apply_once(pool, projector, event)
        .await
        .map_err(|e| e.to_string())
}
