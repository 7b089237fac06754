//! history-service: the `TransactionHistory` read model.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod projector;
mod routes;

pub use app::{SCHEMA, start};
pub use projector::History;
pub use routes::api;
