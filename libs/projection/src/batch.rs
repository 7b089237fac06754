//! Batched writing, for every projector: the events a pull consumer has
//! within [`LINGER`] of the first, up to [`BATCH_SIZE`], go into one transaction together with the
//! checkpoint, in delivery order, and are acked only after the commit (a
//! crash before it leaves them unacked, so they are redelivered). A
//! redelivered event is skipped by its account's version; a gap is healed
//! from the event store inside the same transaction. A batch that fails is
//! rolled back and applied again one event per transaction, so one bad
//! event holds back only itself (and its account's later events).

use futures::future::join_all;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::EventEnvelope;
use tracing::{Instrument, Span};

use crate::apply::{Tally, apply_batch_in_tx};
use crate::read_model::enter_gate;
use crate::runner::{apply_and_settle, count_applied, decode};
use crate::{Projector, ReadModelDb};

/// Most events written in one transaction.
pub const BATCH_SIZE: usize = 256;
/// How long the first event of a batch waits for others to join it.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

pub(crate) async fn handle_batch<P: Projector>(
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
            let span = tracing::info_span!(
                "projection.apply",
                projection = P::NAME,
                batch = events.len()
            );
            ledgerline_telemetry::continue_from(&span, delivery.headers.as_ref(), None);
            span
        })
        .collect();
    // The spans stay open over the batch's transaction and end with it.
    match write_batch(bus, db, projector, &events).await {
        Ok(tally) => {
            // After the commit, never before: an unacked event comes back.
            let _ = join_all(decoded.iter().map(|(delivery, _)| delivery.ack())).await;
            if tally.events > 0 {
                count_applied::<P>(tally.events.unsigned_abs(), tally.position);
            }
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

/// One transaction: the switch gate (shared), the events, the checkpoint.
pub(crate) async fn write_batch<P: Projector>(
    bus: &Bus,
    db: &ReadModelDb,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<Tally, String> {
    let mut tx = db.pool().begin().await.map_err(|e| e.to_string())?;
    enter_gate(&mut tx, db.schema())
        .await
        .map_err(|e| e.to_string())?;
    let tally = apply_batch_in_tx(bus, &mut tx, projector, events).await?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(tally)
}
