//! Order across a change of hands. When a partition's consumer is bound
//! while deliveries of an earlier owner (a replica that died, or this one
//! before NATS dropped it) are still unacknowledged, JetStream hands those
//! out again only when their AckWait runs out — and it hands out the
//! *next* messages at once. The wait at takeover (`ledgerline_leases`'
//! settle) usually covers that AckWait, but a consumer whose leader moved
//! to another NATS node starts the timers again, so the next messages can
//! still come first: an account's later command decided before its
//! earlier one.
//!
//! The barrier makes that impossible: every delivery past the last one
//! delivered before the bind is held (its AckWait extended) until the
//! stream no longer holds any message of the partition at or below that
//! point — the earlier deliveries were redelivered here and decided, or
//! were acked by their owner — and only then decided, in order.

use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::Info;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_runtime::tuning::ACK_WAIT;

/// How long deliveries are held at most: a partition is never stopped for
/// ever (an earlier message that never comes back is logged, and order
/// given up for it).
const HOLD_AT_MOST: Duration = Duration::from_secs(ACK_WAIT.as_secs() * 3);

/// Deliveries held back until the earlier ones are done.
pub struct Barrier {
    /// The last stream sequence delivered before this consumer was bound.
    delivered: u64,
    filter: String,
    held: Vec<Delivery>,
    since: Instant,
}

impl Barrier {
    /// A barrier when the consumer (as just bound) has deliveries still
    /// unacknowledged; `None` when nothing earlier can come back.
    pub fn at_bind(info: &Info, filter: &str) -> Option<Self> {
        (info.num_ack_pending > 0).then(|| Self {
            delivered: info.delivered.stream_sequence,
            filter: filter.to_owned(),
            held: Vec::new(),
            since: Instant::now(),
        })
    }

    /// Splits a group: what may be decided now (earlier deliveries coming
    /// back), and holds the rest.
    pub fn sort(&mut self, group: Vec<Delivery>) -> Vec<Delivery> {
        let (now, later): (Vec<_>, Vec<_>) = group
            .into_iter()
            .partition(|d| d.info().is_ok_and(|i| i.stream_sequence <= self.delivered));
        self.held.extend(later);
        now
    }

    /// Whether every earlier delivery is done: the stream holds no message
    /// of the partition at or below the barrier (a work queue drops what is
    /// acked) — or `HOLD_AT_MOST` has passed.
    pub async fn lifted(&self, bus: &Bus) -> bool {
        if self.since.elapsed() > HOLD_AT_MOST {
            tracing::error!(
                filter = %self.filter,
                delivered = self.delivered,
                "earlier deliveries never came back; deciding the later ones without them"
            );
            return true;
        }
        match bus.oldest_queued(&self.filter).await {
            Ok(oldest) => oldest.is_none_or(|sequence| sequence > self.delivered),
            Err(error) => {
                tracing::debug!(%error, "cannot look at the work queue; holding on");
                false
            }
        }
    }

    /// Keeps the held deliveries from being handed out again meanwhile.
    pub async fn extend_held(&self) {
        for delivery in &self.held {
            let _ = delivery.ack_with(AckKind::Progress).await;
        }
    }

    /// The held deliveries, in the order they came, once the barrier is
    /// lifted.
    pub fn release(self) -> Vec<Delivery> {
        if !self.held.is_empty() {
            tracing::info!(
                held = self.held.len(),
                waited = ?self.since.elapsed(),
                "earlier deliveries done; deciding the ones held behind them"
            );
        }
        self.held
    }
}
