//! The event store's reads as a component of their own: the HTTP routes
//! over the store (accounts now or as they were, event streams, the
//! operators' totals) and the answers to other components' reads
//! (`StoreReads` over NATS). The command processor writes the store; this
//! component only reads it.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod routes;

pub use app::{open, start};
pub use routes::api;
