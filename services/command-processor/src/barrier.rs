//! Order when deliveries went astray. JetStream hands a delivery that never
//! reached the partition's owner out again only when its AckWait runs out
//! — and it hands out the *next* messages at once. That happens when:
//!
//! - the consumer is bound while an earlier owner's deliveries are
//!   unacknowledged: a replica that died, one that lost its lease, or one
//!   that let go and handed them back (see `hand_back`: NAKed, they come
//!   at once, but still after the next owner bound) — and a consumer whose
//!   leader moved to another NATS node starts their timers again;
//! - deliveries are lost on the way while the binding goes on: a NATS node
//!   goes down with a pull's messages in flight, or an earlier owner's
//!   pull request is still waiting at the server and takes some (see
//!   `gap`).
//!
//! Either way an account's later command could be decided before its
//! earlier one. The barrier makes that impossible: from then on each
//! delivery is held (its AckWait extended) and decided only once every
//! message of the partition queued before it is in hand — the missing ones
//! were redelivered here, or acked by whoever had them — in the order they
//! were accepted. Once no message at or below the consumer's delivered
//! point (`floor`) is left, the partition goes back to deciding
//! deliveries as they come.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::Info;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_runtime::tuning::ACK_WAIT;

/// How long deliveries are held at most: a partition is never stopped for
/// ever (an earlier message that never comes back is logged, and order
/// given up for it).
const HOLD_AT_MOST: Duration = Duration::from_secs(ACK_WAIT.as_secs() * 3);
/// How often the held deliveries' AckWait is extended.
const EXTEND_EVERY: Duration = Duration::from_secs(1);

/// Deliveries held back until the earlier ones are done.
pub struct Barrier {
    /// The last stream sequence the consumer had delivered when the
    /// barrier was raised: every message of the partition up to it must be
    /// done before deliveries are decided as they come again.
    floor: u64,
    filter: String,
    /// By stream sequence (a delivery handed out again replaces its
    /// earlier copy).
    held: BTreeMap<u64, Delivery>,
    /// The last stream sequence released: nothing at or below it is
    /// missing (its acks may still be on their way).
    through: u64,
    since: Instant,
    extended: Instant,
}

impl Barrier {
    /// A barrier when the consumer (as just bound) has deliveries still
    /// unacknowledged; `None` when nothing earlier can come back.
    pub fn at_bind(info: &Info, filter: &str) -> Option<Self> {
        (info.num_ack_pending > 0).then(|| Self::up_to(info.delivered.stream_sequence, filter))
    }

    /// A barrier over every message the consumer delivered up to stream
    /// sequence `delivered`.
    pub fn up_to(delivered: u64, filter: &str) -> Self {
        let now = Instant::now();
        Self {
            floor: delivered,
            filter: filter.to_owned(),
            held: BTreeMap::new(),
            through: 0,
            since: now,
            extended: now,
        }
    }

    /// More deliveries went astray while holding: the barrier now also
    /// waits for everything delivered up to `delivered`, for as long as a
    /// new barrier would.
    pub fn raise(&mut self, delivered: u64) {
        self.floor = self.floor.max(delivered);
        self.since = Instant::now();
    }

    /// Holds a group's deliveries (a delivery that cannot be placed in the
    /// stream is not a command; it is decided at once, and turned away).
    pub fn hold(&mut self, group: Vec<Delivery>) -> Vec<Delivery> {
        let mut unplaced = Vec::new();
        for delivery in group {
            match delivery.info().map(|i| i.stream_sequence) {
                Ok(sequence) => {
                    self.held.insert(sequence, delivery);
                }
                Err(_) => unplaced.push(delivery),
            }
        }
        unplaced
    }

    /// The held deliveries that may be decided now, in the order they were
    /// accepted: each one only when no message of the partition queued
    /// before it is missing from hand. Past `HOLD_AT_MOST`, all of them.
    pub async fn ready(&mut self, bus: &Bus) -> Vec<Delivery> {
        if self.since.elapsed() > HOLD_AT_MOST {
            tracing::error!(
                filter = %self.filter,
                floor = self.floor,
                held = self.held.len(),
                "earlier deliveries never came back; deciding the later ones without them"
            );
            self.floor = 0;
            return std::mem::take(&mut self.held).into_values().collect();
        }
        let mut ready = Vec::new();
        while let Some(entry) = self.held.first_entry() {
            let sequence = *entry.key();
            match bus.first_queued(&self.filter, self.through + 1).await {
                // An earlier message of the partition is still queued and
                // not in hand.
                Ok(Some(queued)) if queued < sequence => break,
                // This one is the first still queued (or no longer queued
                // at all: decided before, its outcome is answered again).
                Ok(_) => {
                    ready.push(entry.remove());
                    self.through = self.through.max(sequence);
                }
                Err(error) => {
                    tracing::debug!(%error, "cannot look at the work queue; holding on");
                    break;
                }
            }
        }
        ready
    }

    /// Whether the partition may go back to deciding deliveries as they
    /// come: nothing held, and no message at or below the floor queued.
    pub async fn lifted(&self, bus: &Bus) -> bool {
        if !self.held.is_empty() {
            return false;
        }
        match bus.first_queued(&self.filter, self.through + 1).await {
            Ok(first) => {
                let lifted = first.is_none_or(|sequence| sequence > self.floor);
                if lifted {
                    tracing::info!(
                        filter = %self.filter,
                        waited = ?self.since.elapsed(),
                        "earlier deliveries done; deciding deliveries as they come"
                    );
                }
                lifted
            }
            Err(error) => {
                tracing::debug!(%error, "cannot look at the work queue; holding on");
                false
            }
        }
    }

    /// The held deliveries, for a leaving owner to hand back.
    pub fn into_held(self) -> Vec<Delivery> {
        self.held.into_values().collect()
    }

    /// Keeps the held deliveries from being handed out again meanwhile
    /// (once every `EXTEND_EVERY`).
    pub async fn extend_held(&mut self) {
        if self.extended.elapsed() < EXTEND_EVERY {
            return;
        }
        self.extended = Instant::now();
        for delivery in self.held.values() {
            let _ = delivery.ack_with(AckKind::Progress).await;
        }
    }
}
