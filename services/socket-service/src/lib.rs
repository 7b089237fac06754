//! socket-service: maps each user to their WebSocket connections and pushes
//! their status envelopes and the events of their accounts to every one.
//! Interest follows connections: a user's NATS consumers exist only while
//! the user has a socket open, so several replicas can run side by side.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
mod client_frames;
mod connection;
mod follow;
mod frame;
mod registry;
mod replay;
mod upgrade;

pub use app::start;
