//! What a process knows about its read model's rebuilds: the one under
//! way and how the last one ended, as `GET /projections` shows them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A rebuild under way, as `GET /projections` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebuildProgress {
    pub id: Uuid,
    /// `replaying`, then `switching` while writers are paused.
    pub phase: String,
    /// Events read from the event store so far.
    pub replayed: i64,
    /// The store's head when last asked (replayed / head is the progress).
    pub head: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: OffsetDateTime,
}

/// How the last rebuild ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebuildOutcome {
    pub id: Uuid,
    /// `completed` or `failed` (the live read model is then untouched).
    pub outcome: String,
    pub replayed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub finished_at: OffsetDateTime,
}

/// What this process knows about its read model's rebuilds.
#[derive(Debug, Default)]
pub(crate) struct RebuildBoard {
    pub current: Option<RebuildProgress>,
    pub last: Option<RebuildOutcome>,
}

/// A projector's answer to a rebuild request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", tag = "answer")]
pub enum RebuildAnswer {
    Started { id: uuid::Uuid },
    AlreadyRunning,
    Failed { message: String },
}
