//! Batched writing (the audit log): every event the pull consumer has
//! ready, up to [`BATCH_SIZE`], goes into one transaction with the
//! checkpoint, and is acked after the commit. Duplicates are still skipped
//! per event. A batch that fails is applied again one event per
//! transaction, so one bad event cannot hold the others back.

use std::time::Duration;

use futures::StreamExt;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::EventEnvelope;
use ledgerline_runtime::Shutdown;
use tracing::{Instrument, Span};

use crate::apply::apply_batch_in_tx;
use crate::read_model::enter_gate;
use crate::runner::{apply_and_settle, bind_consumer, count_applied, decode};
use crate::{Projector, ReadModelDb};

/// Most events written in one transaction.
pub const BATCH_SIZE: usize = 256;

pub async fn run_projector_batched<P: Projector>(
    bus: Bus,
    db: ReadModelDb,
    projector: P,
    shutdown: Shutdown,
) {
    while !shutdown.is_cancelled() {
        let consumer = match bind_consumer(&bus, P::DURABLE, None).await {
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
        // Whatever has already arrived, without waiting for more.
        let mut batches = messages.ready_chunks(BATCH_SIZE);
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
            handle_batch(&bus, &db, &projector, deliveries).await;
        }
    }
}

async fn handle_batch<P: Projector>(
    bus: &Bus,
    db: &ReadModelDb,
    projector: &P,
    deliveries: Vec<Delivery>,
) {
    let mut decoded: Vec<(Delivery, EventEnvelope)> = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        if let Some(event) = decode::<P>(&delivery).await {
            decoded.push((delivery, event));
        }
    }
    if decoded.is_empty() {
        return;
    }
    let events: Vec<EventEnvelope> = decoded.iter().map(|(_, e)| e.clone()).collect();
    // One span per event, continuing its trace; the batch shares one
    // transaction but each event's apply is its own step of its command.
    let spans: Vec<Span> = decoded
        .iter()
        .map(|(delivery, _)| {
            let span =
                tracing::info_span!("projection.apply", projection = P::NAME, batched = true);
            ledgerline_telemetry::continue_from(&span, delivery.headers.as_ref(), None);
            span
        })
        .collect();
    match write_batch(bus, db, projector, &events, &spans).await {
        Ok(done) => {
            for (delivery, _) in &decoded {
                let _ = delivery.ack().await;
            }
            let position = events.iter().map(|e| e.global_position).max().unwrap_or(0);
            count_applied::<P>(done as u64, position);
        }
        Err(error) => {
            tracing::warn!(%error, projection = P::NAME, events = decoded.len(), "batch failed; applying its events one by one");
            for ((delivery, event), span) in decoded.iter().zip(spans) {
                apply_and_settle(bus, db, projector, delivery, event)
                    .instrument(span)
                    .await;
            }
        }
    }
}

async fn write_batch<P: Projector>(
    bus: &Bus,
    db: &ReadModelDb,
    projector: &P,
    events: &[EventEnvelope],
    spans: &[Span],
) -> Result<usize, String> {
    let mut tx = db.pool().begin().await.map_err(|e| e.to_string())?;
    enter_gate(&mut tx, db.schema())
        .await
        .map_err(|e| e.to_string())?;
    let done = apply_batch_in_tx(bus, &mut tx, projector, events, spans).await?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(done)
}
