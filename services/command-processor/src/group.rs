//! A partition's group: every command waiting on the partition is decided,
//! in the order it was accepted, against the partition's cached accounts
//! (`decide_group`); all of the decisions are committed in one
//! transaction; everything they set in motion is published with all acks
//! in flight; then every command is acked. Anything unusual — a transfer
//! step that cannot be verified now, the store away — sends the whole group
//! down the careful path, which decides each command alone and retries in
//! place.

use async_nats::jetstream::AckKind;
use futures::future::join_all;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;
use tracing::Instrument;

use crate::account_cache::AccountCache;
use crate::careful::{Pending, one_at_a_time};
use crate::decide::{Settled, decide_group};
use crate::decision::DecisionPolicy;
use crate::give_up::give_up;
use crate::metrics::record_decided;
use crate::publish::{publish_outcome, publish_outcomes};
use crate::read::{read_command, reject_poison};
use crate::retry::{Retried, retry_in_place};
use crate::told::ToldMarks;
use crate::transfer;

/// Decides a group of deliveries from one partition (see the module docs).
pub async fn decide_deliveries<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    cache: &mut AccountCache,
    deliveries: Vec<Delivery>,
    policy: DecisionPolicy,
    shutdown: &Shutdown,
) {
    // A lease lost (or shutdown) before the group starts: decide nothing,
    // leave it unacked for the partition's next owner.
    if shutdown.is_cancelled() {
        return;
    }
    let mut pending = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        // One span per command, continuing the trace of the request that
        // queued it.
        let span = tracing::info_span!("command.handle", subject = %delivery.subject);
        ledgerline_telemetry::continue_from(&span, delivery.headers.as_ref(), None);
        match read_command(bus, &delivery) {
            Ok(message) => pending.push(Pending {
                delivery,
                message,
                span,
            }),
            Err(reason) => reject_poison(bus, delivery, &reason).instrument(span).await,
        }
    }
    let pending = match verify(store, pending).await {
        Ok(pending) => pending,
        Err(pending) => {
            return one_at_a_time(bus, store, marks, cache, pending, policy, shutdown).await;
        }
    };
    if pending.is_empty() {
        return;
    }
    let commands: Vec<_> = pending.iter().map(|p| (&p.message, &p.span)).collect();
    let settled = match decide_group(store, cache, &commands, policy).await {
        Ok(settled) => settled,
        Err(error) => {
            tracing::debug!(%error, size = pending.len(), "group commit declined; deciding one at a time");
            return one_at_a_time(bus, store, marks, cache, pending, policy, shutdown).await;
        }
    };
    let Some(given_up) = publish(bus, store, marks, &pending, &settled, shutdown).await else {
        // Shutting down mid-retry: unacked, the commands come back and are
        // answered from their stored outcomes.
        return;
    };
    let acks = pending
        .iter()
        .enumerate()
        .filter(|(i, _)| !given_up.contains(i))
        .map(|(_, p)| async move { (p, p.delivery.ack().await) });
    for (p, result) in join_all(acks).await {
        if let Err(error) = result {
            tracing::warn!(%error, key = %p.message.key(), "ack failed; redelivery will republish");
        }
    }
    for (p, settled) in pending.iter().zip(&settled) {
        if let Settled::Outcome(handled) = settled
            && handled.fresh
        {
            record_decided(&p.message, &handled.status);
        }
    }
}

/// Drops forged transfer steps (terminated, never decided). `Err` hands
/// the commands back when the store cannot be asked now.
async fn verify<S: EventStore>(
    store: &S,
    pending: Vec<Pending>,
) -> Result<Vec<Pending>, Vec<Pending>> {
    let mut genuine = Vec::with_capacity(pending.len());
    let mut rest = pending.into_iter();
    while let Some(p) = rest.next() {
        match transfer::verified(store, &p.message)
            .instrument(p.span.clone())
            .await
        {
            Ok(true) => genuine.push(p),
            Ok(false) => {
                tracing::warn!(parent: &p.span, key = %p.message.key(), "unverified transfer step dropped");
                let _ = p.delivery.ack_with(AckKind::Term).await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot verify a transfer step now");
                genuine.push(p);
                genuine.extend(rest);
                return Err(genuine);
            }
        }
    }
    Ok(genuine)
}

/// Publishes every outcome together (see [`publish_outcomes`]); on any
/// failure, publishes each outcome again alone until done (JetStream drops
/// the repeats by id). Returns the indices of the commands given up on
/// (their messages are settled by [`give_up`], not acked), or `None` when
/// shutdown came first.
async fn publish<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    pending: &[Pending],
    settled: &[Settled],
    shutdown: &Shutdown,
) -> Option<Vec<usize>> {
    let outcomes = || {
        pending
            .iter()
            .zip(settled)
            .enumerate()
            .filter_map(|(i, (p, s))| match s {
                Settled::Outcome(handled) => Some((i, p, handled)),
                Settled::Repeat => None,
            })
    };
    let together: Vec<_> = outcomes()
        .map(|(_, p, h)| (&p.message, &p.span, &h.status, h.fresh))
        .collect();
    match publish_outcomes(bus, store, marks, &together).await {
        Ok(()) => return Some(Vec::new()),
        Err(error) => tracing::warn!(%error, "group publish failed; publishing one at a time"),
    }
    let mut given_up = Vec::new();
    for (i, p, handled) in outcomes() {
        let attempt = || {
            publish_outcome(
                bus,
                store,
                marks,
                &p.message,
                &handled.status,
                handled.fresh,
            )
            .instrument(p.span.clone())
        };
        match retry_in_place(&p.delivery, p.message.key(), shutdown, attempt).await {
            Retried::Done(()) => {}
            Retried::Stopped => return None,
            Retried::GaveUp(fault) => {
                // The outcome is stored and stands; only what follows it
                // cannot be worked out. The partition moves on.
                given_up.push(i);
                give_up(bus, store, marks, &p.delivery, &p.message, shutdown, fault)
                    .instrument(p.span.clone())
                    .await;
            }
        }
    }
    Some(given_up)
}
