//! Ledgerline on NATS JetStream: subject names, the three streams declared
//! idempotently at start-up, publishing with `Nats-Msg-Id` dedup, and the
//! durable pull consumers services read from. Works on nats-server 2.9.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bus;
mod consumer_health;
mod follow_status;
mod outgoing;
mod partition;
mod queued;
mod store_reads;
mod subjects;

pub use bus::{Bus, BusError, Delivery};
pub use outgoing::Outgoing;
pub use partition::partition_of;
pub use queued::{Queued, Recorded};
pub use subjects::Subjects;

pub use async_nats;
