//! The wire contracts every side builds against: HTTP bodies, the command,
//! event and status messages on NATS, and the WebSocket frames. These Rust
//! types are the source of `proto/schemas/*.json`; a test fails on drift.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod accept;
pub mod api_document;
mod command_key;
mod command_message;
mod event_envelope;
mod field_error;
mod frames;
mod problem;
mod projection_rpc;
mod requests;
pub mod schemas;
mod status;
mod store_rpc;
mod wire_amount;

pub use accept::AcceptRequest;
pub use command_key::{CommandKey, TransferStep};
pub use command_message::CommandMessage;
pub use event_envelope::{EventEnvelope, EventMetadata};
pub use field_error::FieldError;
pub use frames::{
    AcceptedFrame, ClientFrame, ErrorFrame, EventFrame, HeartbeatFrame, RefreshedFrame,
    WelcomeFrame,
};
pub use problem::Problem;
pub use projection_rpc::ProjectionReport;
pub use requests::{
    AcceptedResponse, CloseAccountRequest, CommandRequest, DecodeError, DepositRequest,
    OpenAccountRequest, TransferRequest, WithdrawRequest, decode_command_request,
};
pub use status::{StatusEnvelope, StatusError, StatusKind, StatusMessage};
pub use store_rpc::{
    AccountEventsRequest, AccountsOfRequest, EventAtRequest, EventLocation, EventsRequest,
    HeadRequest, MarkedToldRequest, OutcomesRequest,
};
pub use wire_amount::WireAmount;
