//! Ledgerline on NATS JetStream: subject names, the three streams declared
//! idempotently at start-up, publishing with `Nats-Msg-Id` dedup, and the
//! durable pull consumers services read from. Works on nats-server 2.9.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod accept_rpc;
mod bus;
mod consumer_health;
mod follow_status;
mod outgoing;
mod partition;
mod peers;
mod queued;
mod rpc;
mod store_rpc;
mod subjects;

pub use accept_rpc::{Acceptance, RemoteAcceptance, serve_acceptance};
pub use bus::{Bus, BusError, Delivery};
pub use outgoing::Outgoing;
pub use partition::partition_of;
pub use peers::Peers;
pub use queued::Queued;
pub use rpc::{RPC_TIMEOUT, Rpc, RpcError};
pub use store_rpc::{RemoteStore, serve_store_reads};
pub use subjects::Subjects;

pub use async_nats;
