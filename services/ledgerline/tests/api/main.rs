#![allow(clippy::unwrap_used)]
//! Integration tests: every service started in-process against the real
//! NATS and PostgreSQL, each test with its own database and subject prefix,
//! driven only through HTTP and WebSockets.

mod audit_visibility;
mod bad_input;
mod balance_pages;
mod broker_loss;
mod bursts;
mod command_ids;
mod edge_security;
mod end_to_end;
mod event_feed;
mod event_sourcing;
mod group_decisions;
mod helpers;
mod http_timeouts;
mod raw_http;
mod read_your_writes;
mod rebuild;
mod reliability;
mod resume;
mod resume_below_the_mark;
mod showcase;
mod socket_expiry;
mod socket_feed;
mod socket_limits;
mod split_mode;
mod tracing_across_services;
mod transfers;
