//! What the live projector does with the deliveries in hand: the events a
//! pull consumer has within [`LINGER`] of the first, up to [`GROUP_SIZE`],
//! go into one transaction together with the checkpoint, in delivery order
//! (see [`crate::apply`]), and are acked only after the commit (a crash
//! before it leaves them unacked, so they are redelivered and skipped as
//! duplicates). A batch that fails is rolled back and each of its events
//! applied again as a batch of one, so one bad event holds back only itself
//! (and its account's later events): it is NAKed, the others acked.
//!
//! [`LINGER`]: ledgerline_runtime::tuning::LINGER
//! [`GROUP_SIZE`]: ledgerline_runtime::tuning::GROUP_SIZE

use async_nats::jetstream::AckKind;
use futures::future::join_all;
use ledgerline_bus::Delivery;
use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use tracing::{Instrument, Span};

use crate::apply::{ApplyError, Tally, commit_events};
use crate::heal::GapError;
use crate::projector::Projector;
use crate::read_model::ReadModelDb;
use crate::tuning::{FAULT_RETRY, GAP_RETRY};

pub(crate) async fn handle_batch<P: Projector>(
    store: &dyn StoreReads,
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
    match write::<P>(store, db, projector, &events).await {
        Ok(tally) => acked::<P>(decoded.iter().map(|(delivery, _)| delivery), tally).await,
        Err(error) => {
            tracing::warn!(%error, projection = P::NAME, events = decoded.len(), "batch failed; applying its events one by one");
            for ((delivery, event), span) in decoded.iter().zip(spans) {
                let one = std::slice::from_ref(event);
                async {
                    match write::<P>(store, db, projector, one).await {
                        Ok(tally) => acked::<P>([delivery], tally).await,
                        Err(error) => retry_later::<P>(delivery, event, &error).await,
                    }
                }
                .instrument(span)
                .await;
            }
        }
    }
}

/// One transaction on the live read model, holding its switch gate.
async fn write<P: Projector>(
    store: &dyn StoreReads,
    db: &ReadModelDb,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<Tally, ApplyError> {
    commit_events(store, &db.pool(), Some(db.schema()), projector, events).await
}

/// Acks what was committed — after the commit, never before: an unacked
/// event comes back.
async fn acked<'a, P: Projector>(deliveries: impl IntoIterator<Item = &'a Delivery>, tally: Tally) {
    let _ = join_all(deliveries.into_iter().map(Delivery::ack)).await;
    if tally.events > 0 {
        metrics::counter!("ledgerline_projection_events_total", "projection" => P::NAME)
            .increment(tally.events.unsigned_abs());
        metrics::gauge!("ledgerline_projection_position", "projection" => P::NAME)
            .set(tally.position as f64);
    }
}

/// NAKs an event that could not be applied on its own: it comes back
/// later — soon when it only waits for the store to hold the versions
/// before it, a little later after a fault.
async fn retry_later<P: Projector>(delivery: &Delivery, event: &EventEnvelope, error: &ApplyError) {
    let delay = match error {
        ApplyError::Gap(GapError::NotYet { last, .. }) => {
            tracing::info!(account = %event.aggregate_id, seen = last, got = event.version, projection = P::NAME, "gap not healed yet; retrying");
            GAP_RETRY
        }
        _ => {
            tracing::warn!(%error, projection = P::NAME, "cannot apply event; will retry");
            FAULT_RETRY
        }
    };
    let _ = delivery.ack_with(AckKind::Nak(Some(delay))).await;
}

/// Decodes a delivery; an undecodable one is terminated (a buggy publisher
/// must not stop the read model).
async fn decode<P: Projector>(delivery: &Delivery) -> Option<EventEnvelope> {
    match serde_json::from_slice(&delivery.payload) {
        Ok(e) => Some(e),
        Err(error) => {
            tracing::warn!(%error, subject = %delivery.subject, projection = P::NAME, "undecodable event terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
            None
        }
    }
}
