//! Fixed tuning shared by more than one crate, each value named once with
//! the reason it has. What an operator may change lives in [`crate::Config`]
//! instead; what only one module uses is named there, beside its reason.

use std::time::Duration;

/// How long JetStream waits for a durable consumer's ack before it hands
/// the message out again. Short, so a crashed consumer's messages come back
/// quickly (DESIGN's "keep AckWait short"); long enough for one group's
/// load-decide-append, and slow work sends in-progress acks anyway.
/// `PARTITION_LEASE_SECS` must exceed it (see `ledgerline-leases`): a
/// crashed processor's unacked commands are then due for redelivery by
/// the time its partitions' next owner starts (which holds later commands
/// until they are back).
pub const ACK_WAIT: Duration = Duration::from_secs(10);

/// The most queued messages decided or applied in one transaction. Under
/// load a group of this size turns hundreds of fsyncs into one, while one
/// transaction's rows and one group's publishes (all acks in flight) stay
/// small enough for PostgreSQL and JetStream to take at once.
pub const GROUP_SIZE: usize = 256;

/// How often a projector's batch (a status follower's group) is taken at
/// most (`Paced`): a message after a quiet spell goes at once, and under
/// load one commit carries what arrived in one period. At 1,000 deposits/s
/// this is about 100 events a transaction, where a 20 ms linger counted
/// from each batch's first event gave about 33 (26 batches a second, each
/// eight statements in each of three read models); a read model is then
/// at most this far behind the stream while it keeps up.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);

/// Messages delivered to one durable consumer and not yet acked, at most.
pub const MAX_ACK_PENDING: i64 = 10_000;

/// Events per page read from the event store (a replay, a socket's resume;
/// the store answers up to `ledgerline_store::MAX_PAGE`).
pub const EVENT_PAGE: i64 = 500;
