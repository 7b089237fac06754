//! Publishing what committed outcomes set in motion: their events first,
//! then transfers' next steps and the status envelopes — so a client that
//! sees a status can rely on its events being in the stream — and last the
//! outbox's mark that those users were told (written behind, see `told`).
//! Publishing follows the commit (a dual write): a crash between the two is
//! repaired by redelivery, which finds the stored outcome and publishes it
//! again, and JetStream drops the repeats by id; when the broker has lost
//! the command too, the API's reconciler finds the outcome untold and
//! queues the command again.

use ledgerline_bus::{Bus, Outgoing};
use ledgerline_contracts::{CommandKey, CommandMessage, StatusMessage};
use ledgerline_store::EventStore;
use tracing::Span;

use crate::fault::Fault;
use crate::told::ToldMarks;
use crate::transfer;

/// One command's outcome: it, its span, and whether it was decided just
/// now (see `Handled`).
pub type Outcome<'a> = (&'a CommandMessage, &'a Span, &'a StatusMessage, bool);

/// Publishes the outcomes in their order with all acks in flight, in two
/// waves — every event is in the stream before any status or next step —
/// then hands the keys of the acknowledged statuses to `marks` (the
/// outbox: see `told`). One outcome alone is a batch of one.
pub async fn publish_outcomes<'a, S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    outcomes: &[Outcome<'a>],
) -> Result<(), Fault> {
    let Messages { events, then, told } = messages(bus, store, outcomes).await?;
    bus.publish_all(&events).await?;
    bus.publish_all(&then).await?;
    marks.told(told);
    Ok(())
}

/// Publishes one outcome under the current span (see [`publish_outcomes`]).
pub async fn publish_outcome<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    message: &CommandMessage,
    status: &StatusMessage,
    fresh: bool,
) -> Result<(), Fault> {
    let span = Span::current();
    publish_outcomes(bus, store, marks, &[(message, &span, status, fresh)]).await
}

/// What a group of outcomes publishes, each message carrying its own
/// command's trace.
struct Messages {
    events: Vec<Outgoing>,
    /// Transfers' next steps and status envelopes.
    then: Vec<Outgoing>,
    /// The keys of the statuses among `then`: their users are told.
    told: Vec<CommandKey>,
}

async fn messages<'a, S: EventStore>(
    bus: &Bus,
    store: &S,
    outcomes: &[Outcome<'a>],
) -> Result<Messages, Fault> {
    let mut messages = Messages {
        events: Vec::new(),
        then: Vec::new(),
        told: Vec::new(),
    };
    for &(message, span, status, fresh) in outcomes {
        let follow = transfer::follow_up(store, message, status, fresh).await?;
        span.in_scope(|| -> Result<(), Fault> {
            for event in &status.payload.events {
                messages.events.push(bus.outgoing_event(event)?);
            }
            if let Some(next) = &follow.next {
                messages.then.push(bus.outgoing_command(next)?);
            }
            if let Some(status) = &follow.status {
                messages.then.push(bus.outgoing_status(status)?);
                messages.told.push(status.key());
            }
            Ok(())
        })?;
    }
    Ok(messages)
}
