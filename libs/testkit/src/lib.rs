//! What the Rust tests of Ledgerline share, so each writes only what it
//! checks: a PostgreSQL database and a NATS prefix of the test's own
//! (removed when dropped, also when the test panics), commands built as
//! the command API queues them, events as the store hands them out, and
//! the checks of a problem document.
//!
//! A dev-dependency only. Tests run against the real NATS and PostgreSQL
//! named by `NATS_URL` and `DATABASE_URL` (the services' defaults).

mod cleanup;
pub mod commands;
mod database;
pub mod events;
mod prefix;
mod problem;

pub use database::TestDatabase;
pub use prefix::TestPrefix;
pub use problem::{Answer, PROBLEM_JSON, fields};
