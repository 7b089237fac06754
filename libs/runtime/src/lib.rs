//! What every service shares at run time: configuration, the database pool
//! for the schema a service owns, health routes, problem responses, logging
//! and shutdown.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api_doc;
mod body_deadline;
mod config;
mod db;
mod error_chain;
mod health;
mod json_body;
mod next_page;
mod paced;
mod pool_options;
mod problem;
mod query;
mod service;
mod shutdown;
pub mod tuning;

pub use body_deadline::{BodyTimedOut, with_deadline};
pub use config::{Config, ConfigError, DEFAULT_TOKEN_MAX_TTL_SECS, HttpTimeouts};
pub use db::{DbError, connect_schema, ensure_database};
pub use health::{Readiness, health_api, health_routes};
pub use json_body::read_json_body;
pub use next_page::next_link;
pub use paced::Paced;
pub use pool_options::{IDLE_CONNECTION_TEST_AFTER, pool_options};
pub use problem::{ApiProblem, problem_json};
pub use query::ValidQuery;
pub use service::ServiceHandle;
pub use shutdown::{Shutdown, wait_for_signal};
