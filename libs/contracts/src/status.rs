use ledgerline_domain::UserId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CommandKey, EventEnvelope};

/// How a command ended. Exactly one of these per accepted command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    /// Decided and applied; `events` holds what happened.
    Succeeded,
    /// A business rule said no; `error.code` says which.
    Rejected,
    /// The system could not decide (e.g. an undecodable command).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatusError {
    /// Stable code, e.g. `INSUFFICIENT_FUNDS`.
    pub code: String,
    /// Human-readable reason, e.g. "Insufficient funds".
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFrameType {
    Status,
}

/// The outcome of one command, as the browser receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusEnvelope {
    #[serde(rename = "type")]
    pub frame_type: StatusFrameType,
    /// The BANK_STATUS stream sequence; set by the socket service on delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub command_id: Uuid,
    pub entity_type: String,
    pub entity_id: String,
    pub status: StatusKind,
    pub success: bool,
    pub error: Option<StatusError>,
    pub events: Vec<EventEnvelope>,
    /// The global position of the command's last event: send it as
    /// `?minPosition=` to a read model to read your own write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub timestamp: OffsetDateTime,
}

/// The internal form on `bank.status.{userId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusMessage {
    pub user_id: UserId,
    pub payload: StatusEnvelope,
}

impl StatusMessage {
    /// The key of the user's command this is the outcome of: status
    /// envelopes are only ever published for a user's own commands (a
    /// transfer's under the transfer's id).
    pub fn key(&self) -> CommandKey {
        CommandKey::of_client(&self.user_id, self.payload.command_id)
    }
}

impl StatusEnvelope {
    pub fn new(
        command_id: Uuid,
        entity_id: &str,
        outcome: Result<Vec<EventEnvelope>, (StatusKind, StatusError)>,
    ) -> Self {
        let (status, error, events) = match outcome {
            Ok(events) => (StatusKind::Succeeded, None, events),
            Err((kind, error)) => (kind, Some(error), Vec::new()),
        };
        let position = events.iter().map(|e| e.global_position).max();
        Self {
            frame_type: StatusFrameType::Status,
            position,
            seq: None,
            command_id,
            entity_type: ledgerline_domain::AGGREGATE_TYPE.to_owned(),
            entity_id: entity_id.to_owned(),
            status,
            success: status == StatusKind::Succeeded,
            error,
            events,
            timestamp: OffsetDateTime::now_utc(),
        }
    }
}
