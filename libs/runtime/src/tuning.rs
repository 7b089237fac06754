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
