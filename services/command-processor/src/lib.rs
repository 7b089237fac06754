//! The command processor: decides each queued command against its account,
//! rebuilt from the event store it owns, appends the events together with
//! the command's outcome, and publishes both after the commit.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod account_cache;
mod accounts_rpc;
mod app;
mod batch;
mod consumer;
mod events_page_rpc;
mod events_rpc;
mod fault;
pub mod group;
mod handle;
pub mod leases;
mod retry;
mod routes;
mod store_head_rpc;
#[cfg(test)]
mod test_support;
pub mod transfer;

pub use app::start;
pub use handle::{DecisionPolicy, Handled, decide_command, handle_command};
pub use store_head_rpc::serve_store_head;
