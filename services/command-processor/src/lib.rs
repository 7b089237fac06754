//! The command processor: decides each queued command against its account,
//! rebuilt from the event store it owns, appends the events together with
//! the command's outcome, and publishes both after the commit.
//!
//! The modules form a hierarchy — each uses only modules below it:
//!
//! ```text
//! app                     starts the service: leases, partitions, routes
//! └ partition             a partition's loop over its durable consumer
//!   ├ gap                 notices deliveries that went astray (consumer sequence)
//!   ├ barrier             holds later deliveries until the astray ones are back
//!   ├ hand_back           a leaving owner NAKs what it pulled and did not decide
//!   └ group               a group of deliveries: read, verify, decide, publish, ack
//!     ├ read              delivery → command, or poison
//!     └ careful           one command alone, retrying in place
//!       ├ give_up         failed / UNDECIDABLE when a fault is permanent
//!       │ ├ publish       events, then a transfer's next step or the status
//!       │ │ ├ transfer    the transfer process: follow-ups, verified steps
//!       │ │ └ told        the outbox's marks, written behind the publishes
//!       │ └ retry ─ fault waiting out what can pass, counting what cannot
//!       └ decide          the one decision function (one command: a group of one)
//!         ├ decision      pure: a command's decision, deadline, snapshot
//!         └ account_cache the partition's decided accounts
//! ```
//! `metrics` is used from several levels and uses nothing; the event store's
//! read side (`routes`, `*_rpc`) stands apart.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod account_cache;
mod app;
mod barrier;
mod careful;
mod decide;
mod decision;
mod fault;
mod gap;
mod give_up;
mod group;
mod hand_back;
mod metrics;
mod partition;
mod publish;
mod read;
mod retry;
mod told;
pub mod transfer;

pub use app::start;
pub use decide::{Handled, Settled, decide_command, decide_group, handle_command};
pub use decision::DecisionPolicy;
pub use partition::durable_name;
