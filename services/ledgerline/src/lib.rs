//! One build, many shapes: `ledgerline all` runs every service in one
//! process on one port; `ledgerline command-api` (or any set) runs just
//! those, one per pod in a cluster.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod api_document;
mod application;
mod security_headers;
mod server;
mod target;
mod token_keys;

pub use api_document::api_document;
pub use application::Application;
pub use target::Target;
