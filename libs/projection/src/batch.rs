//! What one read model does with the events of a live batch: they go into
//! one transaction together with its checkpoint, in delivery order (see
//! [`crate::apply`]). A batch that fails is rolled back and each of its
//! events applied again as a batch of one, so one bad event holds back only
//! itself (and its account's later events). The answer is a verdict per
//! event; the feed (see [`crate::runner`]) acks an event only when every
//! read model of the process has it, after their commits.

use std::time::Duration;

use ledgerline_bus::Delivery;
use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use tracing::{Instrument, Span};

use crate::apply::{ApplyError, Tally, commit_events};
use crate::heal::GapError;
use crate::projector::Projector;
use crate::read_model::ReadModelDb;
use crate::tuning::{FAULT_RETRY, GAP_RETRY};

/// What became of one event in one read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Applied, or skipped as one the read model already has.
    Applied,
    /// Not applied: to be delivered again after this long.
    RetryAfter(Duration),
}

impl Verdict {
    /// What the feed answers when several read models judged one event:
    /// applied only if all have it, else retried after the longest wait.
    pub(crate) fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Applied, v) | (v, Verdict::Applied) => v,
            (Verdict::RetryAfter(a), Verdict::RetryAfter(b)) => Verdict::RetryAfter(a.max(b)),
        }
    }
}

/// Applies a live batch — `events`, decoded from `deliveries`, in delivery
/// order — to one read model; one verdict per event, in the same order.
pub(crate) async fn apply_batch<P: Projector>(
    store: &dyn StoreReads,
    db: &ReadModelDb,
    projector: &P,
    deliveries: &[Delivery],
    events: &[EventEnvelope],
) -> Vec<Verdict> {
    // One span per event, continuing its trace; the batch shares one
    // transaction but each event's apply is its own step of its command.
    let spans: Vec<Span> = deliveries
        .iter()
        .map(|delivery| {
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
    match write::<P>(store, db, projector, events).await {
        Ok(tally) => {
            counted::<P>(tally);
            vec![Verdict::Applied; events.len()]
        }
        Err(error) => {
            tracing::warn!(%error, projection = P::NAME, events = events.len(), "batch failed; applying its events one by one");
            let mut verdicts = Vec::with_capacity(events.len());
            for (event, span) in events.iter().zip(spans) {
                let one = std::slice::from_ref(event);
                let verdict = async {
                    match write::<P>(store, db, projector, one).await {
                        Ok(tally) => {
                            counted::<P>(tally);
                            Verdict::Applied
                        }
                        Err(error) => retry_later::<P>(event, &error),
                    }
                }
                .instrument(span)
                .await;
                verdicts.push(verdict);
            }
            verdicts
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

fn counted<P: Projector>(tally: Tally) {
    if tally.events > 0 {
        metrics::counter!("ledgerline_projection_events_total", "projection" => P::NAME)
            .increment(tally.events.unsigned_abs());
        metrics::gauge!("ledgerline_projection_position", "projection" => P::NAME)
            .set(tally.position as f64);
    }
}

/// When an event that could not be applied on its own comes back: soon
/// when it only waits for the store to hold the versions before it, a
/// little later after a fault.
fn retry_later<P: Projector>(event: &EventEnvelope, error: &ApplyError) -> Verdict {
    Verdict::RetryAfter(match error {
        ApplyError::Gap(GapError::NotYet { last, .. }) => {
            tracing::info!(account = %event.aggregate_id, seen = last, got = event.version, projection = P::NAME, "gap not healed yet; retrying");
            GAP_RETRY
        }
        _ => {
            tracing::warn!(%error, projection = P::NAME, "cannot apply event; will retry");
            FAULT_RETRY
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_applied_only_when_every_read_model_has_it() {
        let soon = Verdict::RetryAfter(GAP_RETRY);
        let later = Verdict::RetryAfter(FAULT_RETRY);
        assert_eq!(Verdict::Applied.and(Verdict::Applied), Verdict::Applied);
        assert_eq!(Verdict::Applied.and(soon), soon);
        assert_eq!(later.and(Verdict::Applied), later);
        assert_eq!(soon.and(later), later);
        assert_eq!(later.and(soon), later);
    }
}
