//! Runs a read model from `bank.evt.>`: each event is applied in one
//! transaction together with the projection's checkpoint, so a redelivered
//! event changes nothing and a crash loses nothing.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod admin;
mod checkpoint;
mod runner;

pub use admin::{
    GATHER_WINDOW, LIVE, ProjectionView, ProjectionsOverview, READ_MODELS, UNREACHABLE, gather,
    local_view, serve_projection_status, store_head,
};
pub use checkpoint::{ProjectionStatus, ensure_checkpoint_tables, projection_status};
pub use runner::{Projector, run_projector};
