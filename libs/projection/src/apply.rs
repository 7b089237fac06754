//! Applying events to a read model: many in one transaction (a live batch,
//! a replay page), or one event per transaction (the fallback when a batch
//! fails). Either way the per-account version skips duplicates and detects
//! gaps, and the checkpoint moves in the same transaction as the update.

use ledgerline_bus::Bus;
use ledgerline_contracts::EventEnvelope;
use sqlx::{PgConnection, PgPool};

use crate::Projector;
use crate::checkpoint::{
    advance_checkpoint, advance_version, advance_versions, seen_version, seen_versions,
};
use crate::read_model::enter_gate;

pub(crate) enum Applied {
    Done,
    Duplicate,
    /// An earlier version of the account has not arrived yet.
    Gap {
        seen: i64,
    },
}

/// What one transaction applied: the checkpoint moves by this, once, just
/// before the commit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Events that changed the read model (duplicates not counted).
    pub events: i64,
    /// The furthest global position among them.
    pub position: i64,
}

impl Tally {
    fn add(&mut self, event: &EventEnvelope) {
        self.events += 1;
        self.position = self.position.max(event.global_position);
    }

    /// Writes the checkpoint, if anything was applied.
    pub(crate) async fn record<P: Projector>(
        &self,
        tx: &mut PgConnection,
    ) -> Result<(), sqlx::Error> {
        match self.events {
            0 => Ok(()),
            n => advance_checkpoint(tx, P::NAME, n, self.position).await,
        }
    }
}

/// Applies one event inside the caller's transaction, unless it is a
/// duplicate or comes after a gap; the caller records the checkpoint.
async fn apply_in_tx<P: Projector>(
    tx: &mut PgConnection,
    projector: &P,
    event: &EventEnvelope,
    tally: &mut Tally,
) -> Result<Applied, sqlx::Error> {
    let seen = seen_version(tx, event.aggregate_id.as_str()).await?;
    if event.version <= seen {
        return Ok(Applied::Duplicate);
    }
    if event.version > seen + 1 {
        return Ok(Applied::Gap { seen });
    }
    projector.apply(tx, event).await?;
    advance_version(tx, event.aggregate_id.as_str(), event.version).await?;
    tally.add(event);
    Ok(Applied::Done)
}

/// One event, one transaction. `gate` names the live schema whose switch
/// gate the write holds (a shadow being rebuilt has no gate).
pub(crate) async fn apply_once<P: Projector>(
    pool: &PgPool,
    gate: Option<&str>,
    projector: &P,
    event: &EventEnvelope,
) -> Result<Applied, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if let Some(schema) = gate {
        enter_gate(&mut tx, schema).await?;
    }
    let mut tally = Tally::default();
    let applied = apply_in_tx(&mut tx, projector, event, &mut tally).await?;
    if matches!(applied, Applied::Done) {
        tally.record::<P>(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(applied)
}

/// Versions `seen + 1 .. event.version` of the account, read from the event
/// store through its owner (a publish lost between the processor's commit
/// and JetStream).
pub(crate) async fn missing_before(
    bus: &Bus,
    event: &EventEnvelope,
    seen: i64,
) -> Result<Vec<EventEnvelope>, String> {
    let missing = event.version - seen - 1;
    tracing::info!(account = %event.aggregate_id, seen, got = event.version, "gap; healing from the event store");
    let earlier = bus
        .account_events(&event.aggregate_id, seen, missing)
        .await
        .map_err(|e| e.to_string())?;
    Ok(earlier
        .into_iter()
        .filter(|e| e.version < event.version)
        .collect())
}

/// Applies the event, healing a gap before it first (each step its own
/// transaction).
pub(crate) async fn apply_healing<P: Projector>(
    bus: &Bus,
    pool: &PgPool,
    gate: Option<&str>,
    projector: &P,
    event: &EventEnvelope,
) -> Result<Applied, String> {
    match apply_once(pool, gate, projector, event).await {
        Ok(Applied::Gap { seen }) => {
            for earlier in missing_before(bus, event, seen).await? {
                apply_once(pool, gate, projector, &earlier)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            apply_once(pool, gate, projector, event)
                .await
                .map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Applies events in order inside one transaction, healing gaps from the
/// event store, and moves the checkpoint once for all of them. Returns what
/// changed the read model. The accounts' versions are read (and locked) in
/// one statement and written back in one; duplicates are dropped and gaps
/// filled in memory, and the projector applies the rest with
/// [`Projector::apply_all`]. A gap that cannot be healed fails the whole
/// batch (the caller rolls back).
pub(crate) async fn apply_batch_in_tx<P: Projector>(
    bus: &Bus,
    tx: &mut PgConnection,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<Tally, String> {
    let sql = |e: sqlx::Error| e.to_string();
    let ids: Vec<String> = events
        .iter()
        .map(|e| e.aggregate_id.as_str().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut seen = seen_versions(tx, &ids).await.map_err(sql)?;
    let mut next: Vec<EventEnvelope> = Vec::with_capacity(events.len());
    for event in events {
        let id = event.aggregate_id.as_str();
        let at = seen.get(id).copied().unwrap_or(0);
        if event.version <= at {
            continue;
        }
        let mut last = at;
        if event.version > at + 1 {
            for earlier in missing_before(bus, event, at).await? {
                if earlier.version == last + 1 {
                    last = earlier.version;
                    next.push(earlier);
                }
            }
            if event.version != last + 1 {
                return Err(format!(
                    "{} v{} still follows a gap after v{last}",
                    event.aggregate_id, event.version
                ));
            }
        }
        seen.insert(id.to_owned(), event.version);
        next.push(event.clone());
    }
    let mut tally = Tally::default();
    if next.is_empty() {
        return Ok(tally);
    }
    projector.apply_all(tx, &next).await.map_err(sql)?;
    let changed: Vec<(String, i64)> = next
        .iter()
        .map(|e| e.aggregate_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|id| seen.get(id).map(|v| (id.to_owned(), *v)))
        .collect();
    advance_versions(tx, &changed).await.map_err(sql)?;
    for event in &next {
        tally.add(event);
    }
    tally.record::<P>(tx).await.map_err(sql)?;
    Ok(tally)
}
