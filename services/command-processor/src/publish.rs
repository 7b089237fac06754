//! Publishing what a committed outcome sets in motion: its events first,
//! then a transfer's next step or the status envelope — so a client that
//! sees a status can rely on its events being in the stream. Publishing
//! follows the commit (a dual write): a crash between the two is repaired
//! by redelivery, which finds the stored outcome and publishes it again,
//! and JetStream drops the repeats by id.

use ledgerline_bus::{Bus, Outgoing};
use ledgerline_contracts::{CommandMessage, StatusMessage};
use ledgerline_store::EventStore;
use tracing::Span;

use crate::fault::Fault;
use crate::transfer;

/// One command's outcome: it, its span, and whether it was decided just
/// now (see `Handled`).
pub type Outcome<'a> = (&'a CommandMessage, &'a Span, &'a StatusMessage, bool);

/// Publishes one outcome, each message waiting for its ack.
pub async fn publish_outcome<S: EventStore>(
    bus: &Bus,
    store: &S,
    message: &CommandMessage,
    status: &StatusMessage,
    fresh: bool,
) -> Result<(), Fault> {
    for event in &status.payload.events {
        bus.publish_event(event).await?;
    }
    let follow = transfer::follow_up(store, message, status, fresh).await?;
    if let Some(next) = &follow.next {
        bus.publish_command(next).await?;
    }
    if let Some(status) = &follow.status {
        bus.publish_status(status).await?;
    }
    Ok(())
}

/// Publishes a group's outcomes in the group's order with all acks in
/// flight, in two waves: every event is in the stream before any status or
/// next step. `false` (logged) when anything failed: the caller then
/// publishes each outcome again alone, and JetStream drops what had gone
/// out.
pub async fn publish_together<'a, S: EventStore>(
    bus: &Bus,
    store: &S,
    outcomes: impl Iterator<Item = Outcome<'a>>,
) -> bool {
    let (events, then) = match outgoing(bus, store, outcomes).await {
        Ok(messages) => messages,
        Err(error) => {
            tracing::warn!(%error, "cannot prepare the group's messages; publishing one at a time");
            return false;
        }
    };
    let published = async {
        bus.publish_all(&events).await?;
        bus.publish_all(&then).await
    };
    match published.await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "group publish failed; publishing one at a time");
            false
        }
    }
}

/// The group's events, and then its transfers' next steps and status
/// envelopes (see [`publish_outcome`]), each carrying its own command's
/// trace.
async fn outgoing<'a, S: EventStore>(
    bus: &Bus,
    store: &S,
    outcomes: impl Iterator<Item = Outcome<'a>>,
) -> Result<(Vec<Outgoing>, Vec<Outgoing>), String> {
    let (mut events, mut then) = (Vec::new(), Vec::new());
    for (message, span, status, fresh) in outcomes {
        let follow = transfer::follow_up(store, message, status, fresh)
            .await
            .map_err(|e| e.to_string())?;
        span.in_scope(|| -> Result<(), String> {
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
