//! Noticing deliveries that went astray. A consumer numbers every delivery
//! it makes (the consumer sequence, redeliveries included), so while one
//! owner is bound, the deliveries it receives count up by one. A number
//! skipped is a delivery made that never arrived here: lost in flight as
//! a NATS node went down, or taken by an earlier owner's pull request that
//! was still waiting at the server. A number going back is a consumer
//! whose leader moved and hands out again what it had. Either way the
//! partition raises its barrier (see `barrier`).

use async_nats::jetstream::consumer::Info;
use ledgerline_bus::Delivery;

/// The last consumer sequence received, and the highest stream sequence.
pub struct ConsumerSequence {
    last: u64,
    highest_stream: u64,
}

impl ConsumerSequence {
    /// Where the consumer stands as just bound.
    pub fn at_bind(info: &Info) -> Self {
        Self {
            last: info.delivered.consumer_sequence,
            highest_stream: info.delivered.stream_sequence,
        }
    }

    /// Takes in a group's deliveries, in the order they arrived; `true`
    /// when their numbering does not follow on.
    pub fn broken_by(&mut self, group: &[Delivery]) -> bool {
        let mut broken = false;
        for info in group.iter().filter_map(|d| d.info().ok()) {
            broken |= info.consumer_sequence != self.last + 1;
            self.last = info.consumer_sequence;
            self.highest_stream = self.highest_stream.max(info.stream_sequence);
        }
        broken
    }

    /// The highest stream sequence received: what the barrier covers when
    /// the consumer cannot be asked.
    pub fn highest_stream(&self) -> u64 {
        self.highest_stream
    }
}
