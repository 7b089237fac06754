use ledgerline_domain::Account;
use time::OffsetDateTime;

/// A point in an account's past: after its first `Version(n)` events, or
/// after every event stamped at or before `Time(t)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointInTime {
    Version(i64),
    /// Compared with each event's `metadata.timestamp`; the account is cut
    /// before the first event stamped after `t`, so the answer is always a
    /// prefix of its history (a state it really had).
    Time(OffsetDateTime),
}

/// An account as it was at a [`PointInTime`], and how it was rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// `version` is how many events it had then (0: not opened yet).
    pub account: Account,
    /// The snapshot the replay started from (`None`: from the first event).
    pub snapshot_version: Option<i64>,
    /// How many events were applied on top of the snapshot.
    pub events_replayed: i64,
}
