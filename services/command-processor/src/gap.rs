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
        self.numbered(
            group
                .iter()
                .filter_map(|d| d.info().ok())
                .map(|i| (i.consumer_sequence, i.stream_sequence)),
        )
    }

    /// `(consumer sequence, stream sequence)` of each delivery, in order.
    fn numbered(&mut self, numbers: impl IntoIterator<Item = (u64, u64)>) -> bool {
        let mut broken = false;
        for (consumer, stream) in numbers {
            broken |= consumer != self.last + 1;
            self.last = consumer;
            self.highest_stream = self.highest_stream.max(stream);
        }
        broken
    }

    /// The highest stream sequence received: what the barrier covers when
    /// the consumer cannot be asked.
    pub fn highest_stream(&self) -> u64 {
        self.highest_stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound_at(last: u64) -> ConsumerSequence {
        ConsumerSequence {
            last,
            highest_stream: 0,
        }
    }

    #[test]
    fn deliveries_numbered_one_after_another_follow_on() {
        let mut sequence = bound_at(4);
        assert!(!sequence.numbered([(5, 11), (6, 12)]));
        assert!(!sequence.numbered([(7, 20)]));
        assert!(!sequence.numbered([]));
        assert_eq!(sequence.highest_stream(), 20);
    }

    #[test]
    fn a_skipped_number_is_a_delivery_that_never_arrived() {
        let mut sequence = bound_at(0);
        // The first delivery after the bind went elsewhere.
        assert!(sequence.numbered([(2, 8)]));
        // Counted from the last seen: the next ones follow on again.
        assert!(!sequence.numbered([(3, 9)]));
        assert!(sequence.numbered([(4, 10), (6, 12), (7, 13)]));
    }

    #[test]
    fn a_number_going_back_is_a_consumer_handing_out_again() {
        let mut sequence = bound_at(10);
        assert!(sequence.numbered([(11, 30), (9, 28)]));
        assert!(!sequence.numbered([(10, 29)]));
        assert_eq!(sequence.highest_stream(), 30);
    }
}
