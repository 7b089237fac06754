//! The command API: validates a command, makes sure it is safely queued on
//! JetStream, and answers 202 with its id; the outcome follows as a status
//! envelope (and at `GET /commands/{id}`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod accept;
mod api_document;
mod app;
mod chaos;
mod reconcile;
mod recorder;
mod route_docs;
mod routes;

pub use accept::AcceptService;
pub use api_document::api_document_api;
pub use app::{SCHEMA, open, start};
pub use routes::api;
