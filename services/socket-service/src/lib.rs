//! socket-service: maps each user to their WebSocket connections and pushes
//! their status envelopes and the events of their accounts to every one.
//! Each process follows every event and status envelope with one
//! subscription apiece and routes them in-process to the users with a
//! socket open there, so several replicas can run side by side.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod answer;
mod app;
mod client_frames;
mod closing;
mod connection;
mod error_frames;
mod expiry;
mod feed;
mod frame;
mod outbound;
mod public_text;
mod refresh;
mod registry;
mod replay;
mod routes;
mod safe_mark;
mod upgrade;

pub use app::start;
pub use upgrade::api;
