//! Healing a version gap: an event arrives more than one version ahead of
//! what its account has applied, because a publish was lost between the
//! processor's commit and JetStream. The missing versions are read from the
//! event store through its owner and applied, in the same transaction,
//! before the event itself.

use ledgerline_contracts::EventEnvelope;
use ledgerline_store::{StoreReads, account_events_through};

#[derive(Debug, thiserror::Error)]
pub(crate) enum GapError {
    /// The event store could not be read (its owner restarting, NATS away).
    #[error("healing a gap from the event store: {0}")]
    Store(String),
    /// The store does not hold every missing version yet (say, below its
    /// safe high-water mark): the event waits for them.
    #[error("{account} v{version} still follows a gap after v{last}")]
    NotYet {
        account: String,
        version: i64,
        last: i64,
    },
}

/// The versions `seen + 1 .. event.version` of the event's account, in
/// order, read from the event store — all of them, or [`GapError`].
pub(crate) async fn missing_before(
    store: &dyn StoreReads,
    event: &EventEnvelope,
    seen: i64,
) -> Result<Vec<EventEnvelope>, GapError> {
    tracing::info!(account = %event.aggregate_id, seen, got = event.version, "gap; healing from the event store");
    let earlier = account_events_through(store, &event.aggregate_id, seen, event.version - 1)
        .await
        .map_err(|e| GapError::Store(e.to_string()))?;
    let mut missing = Vec::with_capacity(earlier.len());
    let mut last = seen;
    for e in earlier {
        if e.version == last + 1 && e.version < event.version {
            last = e.version;
            missing.push(e);
        }
    }
    if event.version != last + 1 {
        return Err(GapError::NotYet {
            account: event.aggregate_id.as_str().to_owned(),
            version: event.version,
            last,
        });
    }
    Ok(missing)
}
