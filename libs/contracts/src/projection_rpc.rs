//! Request–reply for the admin of read models: any service can ask every
//! projector how far it has got without reading tables it does not own.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A projector's answer on `bank.rpc.projections` (every projector answers
/// every request: no queue group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionReport {
    /// The read model, e.g. `AccountBalances`.
    pub name: String,
    /// `live`: the projector is running and its database answers.
    pub status: String,
    /// The highest global position applied.
    pub checkpoint: i64,
    pub events_applied: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_updated: Option<OffsetDateTime>,
}
