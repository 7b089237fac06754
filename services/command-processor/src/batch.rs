//! Group decision: every command waiting on a partition is decided, in the
//! order it was accepted, against the partition's cached accounts; all of
//! the decisions are committed in one transaction; everything they set in
//! motion is published with all acks in flight; then every command is
//! acked. Anything unusual — a version race, a known command id, the store
//! away — sends the whole group down the one-at-a-time path, which decides
//! each command afresh from the store and retries in place.

use async_nats::jetstream::AckKind;
use futures::future::join_all;
use ledgerline_bus::{Bus, Delivery, Outgoing};
use ledgerline_contracts::{CommandMessage, StatusMessage};
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;
use tracing::{Instrument, Span};

use crate::account_cache::AccountCache;
use crate::consumer::{
    give_up, process, publish_outcome, read_command, record_decided, reject_poison,
};
use crate::group::{Settled, decide_group};
use crate::retry::{Retried, retry_in_place};
use crate::{DecisionPolicy, transfer};

/// A command read from its delivery, with the span that continues its trace.
struct Pending {
    delivery: Delivery,
    message: CommandMessage,
    span: Span,
}

/// Decides a group of deliveries from one partition (see the module docs).
pub async fn run_batch<S: EventStore>(
    bus: &Bus,
    store: &S,
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
        Err(pending) => return one_at_a_time(bus, store, cache, pending, policy, shutdown).await,
    };
    if pending.is_empty() {
        return;
    }
    let commands: Vec<_> = pending.iter().map(|p| (&p.message, &p.span)).collect();
    let settled = match decide_group(store, cache, &commands, policy).await {
        Ok(settled) => settled,
        Err(error) => {
            tracing::debug!(%error, size = pending.len(), "group commit declined; deciding one at a time");
            return one_at_a_time(bus, store, cache, pending, policy, shutdown).await;
        }
    };
    let Some(given_up) = publish(bus, store, &pending, &settled, shutdown).await else {
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
        if let Settled::Outcome {
            status,
            fresh: true,
        } = settled
        {
            record_decided(&p.message, status);
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

/// Publishes every outcome's events, follow-up command and status, in the
/// group's order with all acks in flight; on any failure, publishes each
/// outcome again one at a time until done (JetStream drops the repeats by
/// id). Returns the indices of the commands given up on (their messages are
/// settled by [`give_up`], not acked), or `None` when shutdown came first.
async fn publish<S: EventStore>(
    bus: &Bus,
    store: &S,
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
                Settled::Outcome { status, fresh } => Some((i, p, status.as_ref(), *fresh)),
                Settled::Repeat => None,
            })
    };
    // Two waves: every event is in the stream (retries included) before any
    // status or next step, so a client that sees a status can rely on its
    // events being there.
    match outgoing(bus, store, outcomes().map(|(_, p, s, fresh)| (p, s, fresh))).await {
        Ok((events, then)) => match async {
            bus.publish_all(&events).await?;
            bus.publish_all(&then).await
        }
        .await
        {
            Ok(()) => return Some(Vec::new()),
            Err(error) => tracing::warn!(%error, "group publish failed; publishing one at a time"),
        },
        Err(error) => {
            tracing::warn!(%error, "cannot prepare the group's messages; publishing one at a time")
        }
    }
    let mut given_up = Vec::new();
    for (i, p, status, fresh) in outcomes() {
        let attempt =
            || publish_outcome(bus, store, &p.message, status, fresh).instrument(p.span.clone());
        match retry_in_place(&p.delivery, p.message.key(), shutdown, attempt).await {
            Retried::Done(()) => {}
            Retried::Stopped => return None,
            Retried::GaveUp(fault) => {
                // The outcome is stored and stands; only what follows it
                // cannot be worked out. The partition moves on.
                given_up.push(i);
                give_up(bus, store, &p.delivery, &p.message, shutdown, fault)
                    .instrument(p.span.clone())
                    .await;
            }
        }
    }
    Some(given_up)
}

/// The group's events, and then its transfers' next steps and status
/// envelopes (see [`publish_outcome`]), each carrying its own command's
/// trace.
async fn outgoing<'a, S: EventStore>(
    bus: &Bus,
    store: &S,
    outcomes: impl Iterator<Item = (&'a Pending, &'a StatusMessage, bool)>,
) -> Result<(Vec<Outgoing>, Vec<Outgoing>), String> {
    let (mut events, mut then) = (Vec::new(), Vec::new());
    for (p, status, fresh) in outcomes {
        let follow = transfer::follow_up(store, &p.message, status, fresh)
            .await
            .map_err(|e| e.to_string())?;
        p.span.in_scope(|| -> Result<(), String> {
            for event in &status.payload.events {
                events.push(bus.outgoing_event(event).map_err(|e| e.to_string())?);
            }
            if let Some(next) = &follow.next {
                then.push(bus.outgoing_command(next).map_err(|e| e.to_string())?);
            }
            if let Some(status) = &follow.status {
                then.push(bus.outgoing_status(status).map_err(|e| e.to_string())?);
            }
            Ok(())
        })?;
    }
    Ok((events, then))
}

/// The careful path: each command decided from the store, alone.
async fn one_at_a_time<S: EventStore>(
    bus: &Bus,
    store: &S,
    cache: &mut AccountCache,
    pending: Vec<Pending>,
    policy: DecisionPolicy,
    shutdown: &Shutdown,
) {
    for p in pending {
        // The lease may lapse while a slow fault drags on: stop deciding,
        // leave the rest unacked.
        if shutdown.is_cancelled() {
            return;
        }
        cache.forget(p.message.command.account_id());
        process(bus, store, p.delivery, policy, shutdown)
            .instrument(p.span)
            .await;
    }
}
