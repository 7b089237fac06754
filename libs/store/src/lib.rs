//! The event store, behind a trait with two implementations: PostgreSQL
//! (schema `es`, owned by the command processor) and in memory (for fast
//! processor tests). Appends are optimistic and carry the command's outcome
//! in the same transaction.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod as_of;
mod commit_queue;
mod decision;
mod error;
mod group_commit;
mod held_connection;
mod memory;
mod outcomes;
mod postgres;
mod reads;
mod rows;
mod stats;
mod store;
pub mod told;
mod upcast;

pub use as_of::{PointInTime, Rebuilt};
pub use commit_queue::{CommitQueue, Stopped};
pub use decision::Decision;
pub use error::{CommitError, StoreError};
pub use held_connection::HeldConnection;
pub use memory::InMemoryEventStore;
pub use postgres::{MIGRATOR, PostgresEventStore, SCHEMA};
pub use reads::{MAX_PAGE, ReadError, StoreReads, account_events_through, paged};
pub use stats::{AggregateVersion, COMMAND_STATUSES, StoreStats};
pub use store::EventStore;
pub use upcast::upcast;
