//! audit-service: an append-only log of every event and every command
//! outcome (rejections included).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod projector;
mod routes;
mod status_log;

pub use app::{SCHEMA, start};
pub use projector::AuditEvents;
pub use routes::api;
