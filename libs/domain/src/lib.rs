//! The bank's language, with no I/O: identifiers, money, commands, events,
//! and the two pure functions that run the ledger — `decide` and `apply`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod account;
mod command;
mod decide;
mod event;
mod ids;
mod money;
mod reference;
mod rejection;
#[cfg(feature = "schema")]
mod schema;
#[cfg(feature = "schema")]
pub use schema::SignedMajor;

pub use account::{Account, AccountStatus};
pub use command::{AccountCommand, CommandKind};
pub use decide::decide;
pub use event::AccountEvent;
pub use ids::{AccountId, Currency, IdError, UserId};
pub use money::{ABSOLUTE_MAX_MINOR, Amount, AmountError, Balance, as_major, as_major_opt, major};
pub use reference::{Reference, ReferenceError, required_nullable};
pub use rejection::Rejection;

/// The aggregate type of every event in this crate.
pub const AGGREGATE_TYPE: &str = "BankAccount";
