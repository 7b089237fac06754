//! Runs a read model from `bank.evt.>`: the events at hand are applied in
//! one transaction together with the projection's checkpoint and acked
//! after the commit, so a redelivered event changes nothing and a crash
//! loses nothing. Also: bootstrapping a new read model from the event
//! store, rebuilding one without downtime, and starting a read-model
//! service ([`start_read_model`]).
//!
//! The modules, each using only those listed before it: `tuning`,
//! `projector`, `checkpoint`, `rebuild_board`, `heal`, `account_owners`
//! (the leaves); `read_model` (the schema, its pool and switch gate);
//! `apply` (the one way events reach a read model); `batch` (a live batch
//! in one read model); `read_your_writes`; `admin` (status over NATS);
//! `store_pages` (replaying the event store); `bootstrap`; `feed` (the
//! read models of a process sharing one consumer) and `runner` (the live
//! projector following it); `rebuild`, `health`; `service` (all of it
//! started together).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod account_owners;
mod admin;
mod apply;
mod batch;
mod bootstrap;
mod checkpoint;
mod feed;
mod heal;
mod health;
mod projector;
mod read_model;
mod read_models;
mod read_your_writes;
mod rebuild;
mod rebuild_board;
mod runner;
mod service;
mod sources;
mod store_pages;
pub mod tuning;

pub use account_owners::record_account_owners;
pub use admin::{
    GATHER_WINDOW, LIVE, ProjectionView, ProjectionsOverview, ProjectorStatus, READ_MODELS,
    REBUILDING, StatusRpc, UNREACHABLE, gather, local_view, serve_projection_status, store_head,
};
pub use checkpoint::{ProjectionStatus, ensure_checkpoint_tables, lag, projection_status};
pub use feed::{EventFeed, StartFrom};
pub use health::{durable_ready, feed_ready, report_lag};
pub use projector::Projector;
pub use read_model::{ReadModelDb, ReadModelError, write_gated};
pub use read_models::LocalReadModels;
pub use read_your_writes::{min_position, wait_for_position};
pub use rebuild::{RebuildRpc, request_rebuild};
pub use rebuild_board::{RebuildAnswer, RebuildOutcome, RebuildProgress};
pub use runner::run_projector;
pub use service::{ReadModel, start_read_model};
pub use sources::Sources;
