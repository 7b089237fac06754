//! The careful path a group falls back to when anything is unusual (a
//! transfer step that cannot be verified now, the store away, races that
//! would not settle): each command decided alone — `decide_command`, the
//! group decision with a group of one and its account forgotten by the
//! partition's cache — retrying in place through faults (see `retry`), and
//! given up on when a fault is permanent (see `give_up`).

use async_nats::jetstream::AckKind;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::CommandMessage;
use ledgerline_runtime::Shutdown;
use ledgerline_store::EventStore;
use tracing::{Instrument, Span};

use crate::account_cache::AccountCache;
use crate::decide::decide_command;
use crate::decision::DecisionPolicy;
use crate::give_up::give_up;
use crate::metrics::record_decided;
use crate::publish::publish_outcome;
use crate::retry::{Retried, retry_in_place};
use crate::told::ToldMarks;
use crate::transfer;

/// A command read from its delivery, with the span that continues its trace.
pub struct Pending {
    pub delivery: Delivery,
    pub message: CommandMessage,
    pub span: Span,
}

/// Decides each command alone, in order, under its own span.
pub async fn one_at_a_time<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
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
        decide_alone(bus, store, marks, &p.delivery, &p.message, policy, shutdown)
            .instrument(p.span)
            .await;
    }
}

/// Decides one command from the store, publishes what it sets in motion
/// and acks it — or terminates an unverified transfer step, or gives up.
async fn decide_alone<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    delivery: &Delivery,
    message: &CommandMessage,
    policy: DecisionPolicy,
    shutdown: &Shutdown,
) {
    let attempt = || async move {
        if !transfer::verified(store, message).await? {
            return Ok(None);
        }
        let handled = decide_command(store, message, policy).await?;
        publish_outcome(bus, store, marks, message, &handled.status, handled.fresh).await?;
        Ok(Some(handled))
    };
    match retry_in_place(delivery, message.key(), shutdown, attempt).await {
        Retried::Stopped => {}
        Retried::Done(None) => {
            tracing::warn!(key = %message.key(), "unverified transfer step dropped");
            let _ = delivery.ack_with(AckKind::Term).await;
        }
        Retried::Done(Some(handled)) => {
            if let Err(error) = delivery.ack().await {
                tracing::warn!(%error, key = %message.key(), "ack failed; redelivery will republish");
            }
            if handled.fresh {
                record_decided(message, &handled.status);
            }
            tracing::debug!(key = %message.key(), status = ?handled.status.payload.status, fresh = handled.fresh, "command handled");
        }
        Retried::GaveUp(fault) => {
            give_up(bus, store, marks, delivery, message, shutdown, fault).await
        }
    }
}
