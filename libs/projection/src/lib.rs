//! Runs a read model from `bank.evt.>`: the events at hand are applied in
//! one transaction together with the projection's checkpoint and acked
//! after the commit, so a redelivered event changes nothing and a crash
//! loses nothing. Also: bootstrapping a new read model from the event
//! store, rebuilding one without downtime, and starting a read-model
//! service ([`start_read_model`]).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod admin;
mod apply;
mod batch;
mod bootstrap;
mod checkpoint;
mod health;
mod read_model;
mod read_your_writes;
mod rebuild;
mod runner;
mod service;
mod store_pages;

pub use admin::{
    GATHER_WINDOW, LIVE, ProjectionView, ProjectionsOverview, ProjectorStatus, READ_MODELS,
    REBUILDING, UNREACHABLE, gather, local_view, serve_projection_status, store_head,
};
pub use batch::BATCH_SIZE;
pub use bootstrap::run_projector_bootstrapped;
pub use checkpoint::{ProjectionStatus, ensure_checkpoint_tables, projection_status};
pub use health::{consumer_ready, durable_ready, lag, report_lag};
pub use read_model::{ReadModelDb, ReadModelError, write_gated};
pub use read_your_writes::{READ_YOUR_WRITES_PATIENCE, min_position, wait_for_position};
pub use rebuild::{RebuildAnswer, RebuildOutcome, RebuildProgress, request_rebuild, serve_rebuild};
pub use runner::{Projector, run_projector};
pub use service::{ReadModel, StartFrom, start_read_model};
