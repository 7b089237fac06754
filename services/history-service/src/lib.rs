//! history-service: the `TransactionHistory` read model.

mod app;
mod projector;
mod routes;

pub use app::{SCHEMA, start};
pub use projector::History;
