#![allow(clippy::unwrap_used)]
//! Integration tests: every service started in-process against the real
//! NATS and PostgreSQL, each test with its own database and subject prefix,
//! driven only through HTTP and WebSockets.

mod bad_input;
mod bursts;
mod end_to_end;
mod event_sourcing;
mod group_decisions;
mod helpers;
mod read_your_writes;
mod rebuild;
mod reliability;
mod resume;
mod resume_below_the_mark;
mod socket_expiry;
mod socket_feed;
mod socket_limits;
mod tracing_across_services;
mod transfers;
