//! Applying events to a read model: one event per transaction (the live
//! runner), or many in one transaction (a batch, a replay page). Either way
//! the per-account version skips duplicates and detects gaps, and the
//! checkpoint moves in the same transaction as the update.

use ledgerline_bus::Bus;
use ledgerline_contracts::EventEnvelope;
use sqlx::{PgConnection, PgPool};
use tracing::{Instrument, Span};

use crate::Projector;
use crate::checkpoint::{advance, seen_version};
use crate::read_model::enter_gate;

pub(crate) enum Applied {
    Done,
    Duplicate,
    /// An earlier version of the account has not arrived yet.
    Gap {
        seen: i64,
    },
}

/// Applies one event inside the caller's transaction, unless it is a
/// duplicate or comes after a gap.
pub(crate) async fn apply_in_tx<P: Projector>(
    tx: &mut PgConnection,
    projector: &P,
    event: &EventEnvelope,
) -> Result<Applied, sqlx::Error> {
    let seen = seen_version(tx, event.aggregate_id.as_str()).await?;
    if event.version <= seen {
        return Ok(Applied::Duplicate);
    }
    if event.version > seen + 1 {
        return Ok(Applied::Gap { seen });
    }
    projector.apply(tx, event).await?;
    advance(
        tx,
        P::NAME,
        event.aggregate_id.as_str(),
        event.version,
        event.global_position,
    )
    .await?;
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
    let applied = apply_in_tx(&mut tx, projector, event).await?;
    if matches!(applied, Applied::Done) {
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
/// transaction, as the live runner does).
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
/// event store. Returns how many changed the read model. A gap that cannot
/// be healed fails the whole batch (the caller rolls back). `spans`, when
/// given, has one span per event (its trace, continued from the message).
pub(crate) async fn apply_batch_in_tx<P: Projector>(
    bus: &Bus,
    tx: &mut PgConnection,
    projector: &P,
    events: &[EventEnvelope],
    spans: &[Span],
) -> Result<usize, String> {
    let mut done = 0;
    for (i, event) in events.iter().enumerate() {
        let span = spans.get(i).cloned().unwrap_or_else(Span::none);
        done += apply_healing_in_tx(bus, tx, projector, event)
            .instrument(span)
            .await?;
    }
    Ok(done)
}

async fn apply_healing_in_tx<P: Projector>(
    bus: &Bus,
    tx: &mut PgConnection,
    projector: &P,
    event: &EventEnvelope,
) -> Result<usize, String> {
    let mut done = 0;
    let mut applied = apply_in_tx(tx, projector, event)
        .await
        .map_err(|e| e.to_string())?;
    if let Applied::Gap { seen } = applied {
        for earlier in missing_before(bus, event, seen).await? {
            if let Applied::Done = apply_in_tx(tx, projector, &earlier)
                .await
                .map_err(|e| e.to_string())?
            {
                done += 1;
            }
        }
        applied = apply_in_tx(tx, projector, event)
            .await
            .map_err(|e| e.to_string())?;
    }
    match applied {
        Applied::Done => Ok(done + 1),
        Applied::Duplicate => Ok(done),
        Applied::Gap { seen } => Err(format!(
            "{} v{} still follows a gap after v{seen}",
            event.aggregate_id, event.version
        )),
    }
}
