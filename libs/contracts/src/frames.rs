//! WebSocket frames. Server frames are JSON objects with a `type`; status
//! frames are `StatusEnvelope`s. Client frames are decoded strictly.

use ledgerline_domain::UserId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{EventEnvelope, FieldError};

macro_rules! frame_type {
    ($name:ident, $variant:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            #[default]
            $variant,
        }
    };
}
frame_type!(EventFrameType, Event);
frame_type!(AcceptedFrameType, Accepted);
frame_type!(ErrorFrameType, Error);
frame_type!(HeartbeatFrameType, Heartbeat);
frame_type!(WelcomeFrameType, Welcome);
frame_type!(RefreshedFrameType, Refreshed);

/// An event of one of the user's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventFrame {
    #[serde(rename = "type")]
    pub frame_type: EventFrameType,
    /// The BANK_EVENTS stream sequence; absent for an event replayed from
    /// the event store on resume (use `event.globalPosition` to resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub event: EventEnvelope,
}

/// The socket's twin of HTTP 202: the command is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedFrame {
    #[serde(rename = "type")]
    pub frame_type: AcceptedFrameType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub command_id: Uuid,
    pub status_url: String,
}

/// A refused client frame (or a reason the server closes the socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFrame {
    #[serde(rename = "type")]
    pub frame_type: ErrorFrameType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// e.g. `INVALID_FRAME`, `INVALID_COMMAND`, `UNAVAILABLE`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatFrame {
    #[serde(rename = "type")]
    pub frame_type: HeartbeatFrameType,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub timestamp: OffsetDateTime,
}

/// The first frame on a new socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WelcomeFrame {
    #[serde(rename = "type")]
    pub frame_type: WelcomeFrameType,
    pub user_id: UserId,
    pub connection_id: Uuid,
}

/// The answer to a `refresh` frame that was taken: the socket now stays
/// open until `expiresAt`, the new token's `exp` (it closed with 4001
/// `token expired` at the old one's otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshedFrame {
    #[serde(rename = "type")]
    pub frame_type: RefreshedFrameType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub expires_at: OffsetDateTime,
}

/// What a client may send: `{"type":"ping"}`,
/// `{"type":"command","command":"deposit","body":{…},"requestId":"r1"}` or
/// `{"type":"refresh","token":"<new JWT of the same user>"}`.
/// A plain struct (not a tagged enum) so `body` stays raw JSON text and its
/// amounts are parsed exactly by the same code as HTTP bodies.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientFrame {
    #[serde(rename = "type")]
    #[schemars(with = "ClientFrameType")]
    pub frame_type: String,
    /// Echoed in the `accepted` or `error` answer.
    #[serde(default)]
    pub request_id: Option<String>,
    /// For `command`: `open-account`, `deposit`, `withdraw` or `close-account`.
    #[serde(default)]
    pub command: Option<String>,
    /// For `command`: the same body as the HTTP route takes.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<Box<RawValue>>,
    /// For `refresh`: a new bearer token of the socket's user; the socket
    /// then closes at its expiry instead of the old token's.
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ClientFrameType {
    Command,
    Ping,
    Refresh,
}
