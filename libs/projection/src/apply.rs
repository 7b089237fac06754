//! The one way events reach a read model — a live batch, a single event
//! retried on its own (a batch of one), a page replayed from the event
//! store: in one transaction, duplicates skipped by their account's
//! version, a gap healed from the event store before the event after it,
//! the projector's set-based [`Projector::apply`], the accounts' versions
//! and the checkpoint written before the commit.

use std::collections::BTreeSet;

use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use sqlx::{PgConnection, PgPool};

use crate::checkpoint::{advance_checkpoint, advance_versions, seen_versions};
use crate::heal::{GapError, missing_before};
use crate::projector::Projector;
use crate::read_model::enter_gate;

/// What one transaction applied: the checkpoint moves by this, once, just
/// before the commit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Events that changed the read model (duplicates not counted).
    pub events: i64,
    /// The furthest global position among them.
    pub position: i64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    #[error(transparent)]
    Gap(#[from] GapError),
    #[error("applying events: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Applies `events` in one transaction of their own on `pool` and commits.
/// `gate` names the live schema whose switch gate the write holds (a shadow
/// being rebuilt has none). Nothing is written unless all of it is.
pub(crate) async fn commit_events<P: Projector>(
    store: &dyn StoreReads,
    pool: &PgPool,
    gate: Option<&str>,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<Tally, ApplyError> {
    let mut tx = pool.begin().await?;
    if let Some(schema) = gate {
        enter_gate(&mut tx, schema).await?;
    }
    let tally = apply_events(store, &mut tx, projector, events).await?;
    tx.commit().await?;
    Ok(tally)
}

/// Applies events in order inside the caller's transaction and moves the
/// checkpoint once for all of them. The accounts' versions are read (and
/// locked) in one statement and written back in one; duplicates are
/// dropped and gaps filled in memory, and the projector applies the rest.
/// A gap that cannot be healed fails the whole call (the caller rolls back).
async fn apply_events<P: Projector>(
    store: &dyn StoreReads,
    tx: &mut PgConnection,
    projector: &P,
    events: &[EventEnvelope],
) -> Result<Tally, ApplyError> {
    let ids: Vec<String> = accounts(events).map(str::to_owned).collect();
    let mut seen = seen_versions(tx, &ids).await?;
    let mut next: Vec<EventEnvelope> = Vec::with_capacity(events.len());
    for event in events {
        let id = event.aggregate_id.as_str();
        let at = seen.get(id).copied().unwrap_or(0);
        if event.version <= at {
            continue;
        }
        if event.version > at + 1 {
            next.extend(missing_before(store, event, at).await?);
        }
        seen.insert(id.to_owned(), event.version);
        next.push(event.clone());
    }
    let mut tally = Tally::default();
    if next.is_empty() {
        return Ok(tally);
    }
    projector.apply(tx, &next).await?;
    let changed: Vec<(String, i64)> = accounts(&next)
        .filter_map(|id| seen.get(id).map(|v| (id.to_owned(), *v)))
        .collect();
    advance_versions(tx, &changed).await?;
    for event in &next {
        tally.events += 1;
        tally.position = tally.position.max(event.global_position);
    }
    advance_checkpoint(tx, P::NAME, tally.events, tally.position).await?;
    Ok(tally)
}

/// The accounts `events` belong to, each once, sorted (the order rows are
/// locked in).
fn accounts(events: &[EventEnvelope]) -> impl Iterator<Item = &str> {
    events
        .iter()
        .map(|e| e.aggregate_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
}
