//! Fixed tuning shared by more than one crate, each value named once with
//! the reason it has. What an operator may change lives in [`crate::Config`]
//! instead; what only one module uses is named there, beside its reason.

use std::time::Duration;

/// How long JetStream waits for a durable consumer's ack before it hands
/// the message out again. Short, so a crashed consumer's messages come back
/// quickly (DESIGN's "keep AckWait short"); long enough for one group's
/// load-decide-append, and slow work sends in-progress acks anyway.
/// `PARTITION_LEASE_SECS` must exceed it (see `ledgerline-leases`): a
/// crashed processor's unacked commands are then redelivered before its
/// partitions' next owner starts.
pub const ACK_WAIT: Duration = Duration::from_secs(10);

/// The most queued messages decided or applied in one transaction. Under
/// load a group of this size turns hundreds of fsyncs into one, while one
/// transaction's rows and one group's publishes (all acks in flight) stay
/// small enough for PostgreSQL and JetStream to take at once.
pub const GROUP_SIZE: usize = 256;

/// How long the first message of a group waits for others to join it (a
/// projector's batch, a status follower's group): under load one commit
/// carries many messages; alone, a message waits this long.
pub const LINGER: Duration = Duration::from_millis(20);

/// Messages delivered to one durable consumer and not yet acked, at most.
pub const MAX_ACK_PENDING: i64 = 10_000;

/// Events per page read from the event store (a replay, a socket's resume;
/// the store answers up to `ledgerline_store::MAX_PAGE`).
pub const EVENT_PAGE: i64 = 500;
