//! Request–reply reads of the event store, answered by the command
//! processor (the store's owner) for services that must not read its tables:
//! projectors healing a gap, the socket service replaying missed events.

use serde::{Deserialize, Serialize};

use crate::EventEnvelope;

/// `bank.rpc.account-events.{accountId}`: the account's events after a version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountEventsRequest {
    pub after_version: i64,
    pub limit: i64,
}

/// `bank.rpc.user-events.{userId}`: events of the user's accounts after a
/// global position (only below the store's safe high-water mark).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserEventsRequest {
    pub after_position: i64,
    pub limit: i64,
}

/// `bank.rpc.event-at`: which account and version sit at a global position
/// (read-your-writes: a read model waits until it applied that version).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventAtRequest {
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLocation {
    pub account_id: ledgerline_domain::AccountId,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventsReply {
    Events(Vec<EventEnvelope>),
    Error(String),
}
