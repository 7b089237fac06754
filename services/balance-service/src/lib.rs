//! balance-service: the `AccountBalances` and `DailySummary` read models.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod projector;
mod routes;

pub use app::{SCHEMA, start};
pub use projector::Balances;
pub use routes::api;
