use std::collections::BTreeMap;

use ledgerline_contracts::{StatusKind, StatusMessage};
use ledgerline_domain::AccountId;

/// The outcome statuses a command can end in, so that totals name all
/// three even when one has not happened yet.
pub const COMMAND_STATUSES: [&str; 3] = ["succeeded", "rejected", "failed"];

/// The status an outcome is counted under (`command_outcomes.status`).
pub(crate) fn status_name(message: &StatusMessage) -> &'static str {
    kind_name(message.payload.status)
}

/// `command_outcomes.status` of an outcome of this kind.
pub(crate) fn kind_name(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Succeeded => "succeeded",
        StatusKind::Rejected => "rejected",
        StatusKind::Failed => "failed",
    }
}

/// Totals over the whole store, read from one consistent snapshot of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub events: i64,
    /// Distinct aggregates (accounts) with at least one event.
    pub aggregates: i64,
    pub snapshots: i64,
    /// The highest global position written (0 for an empty store).
    pub head_position: i64,
    pub events_by_type: BTreeMap<String, i64>,
    /// Decided commands by outcome status; every status in
    /// [`COMMAND_STATUSES`] is present.
    pub commands_by_status: BTreeMap<String, i64>,
}

impl StoreStats {
    pub(crate) fn with_every_status(mut self) -> Self {
        for status in COMMAND_STATUSES {
            self.commands_by_status
                .entry(status.to_owned())
                .or_insert(0);
        }
        self
    }
}

/// One aggregate's latest version and how many events it has. Versions
/// start at 1 and have no gaps (`unique (aggregate_id, version)`, appends
/// at the expected version), so the two agree; both are counted, not
/// assumed, so that a store that ever broke that rule would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateVersion {
    pub aggregate_id: AccountId,
    pub version: i64,
    pub event_count: i64,
}
