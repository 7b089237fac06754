//! balance-service: the `AccountBalances` read model, per event.

mod app;
mod projector;
mod routes;

pub use app::{SCHEMA, start};
pub use projector::Balances;
