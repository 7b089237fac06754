//! Giving up on a command. One that cannot be handled however often it is
//! tried (see `retry`) ends as `failed` / `UNDECIDABLE`, told to its user
//! like any outcome, and its partition moves on: **no message holds its
//! partition for ever.**

use async_nats::jetstream::AckKind;
use ledgerline_bus::{Bus, Delivery};
use ledgerline_contracts::{CommandMessage, StatusError};
use ledgerline_runtime::Shutdown;
use ledgerline_store::{CommitError, EventStore};

use crate::decision::failed_decision;
use crate::fault::Fault;
use crate::metrics::{record_decided, record_undecidable};
use crate::publish::publish_outcome;
use crate::retry::{Retried, retry_in_place};
use crate::told::ToldMarks;
use crate::transfer;

/// Stores and publishes the `failed` outcome, then terminates the message.
/// If an outcome was stored before the fault, that outcome stands (never
/// two); a transfer step that cannot even be verified is dropped without
/// one.
pub async fn give_up<S: EventStore>(
    bus: &Bus,
    store: &S,
    marks: &ToldMarks,
    delivery: &Delivery,
    message: &CommandMessage,
    shutdown: &Shutdown,
    fault: Fault,
) {
    tracing::error!(%fault, key = %message.key(), "command cannot be decided; it ends as failed");
    record_undecidable();
    let failed = failed_decision(
        message,
        StatusError {
            code: "UNDECIDABLE".into(),
            message: "The command could not be decided; nothing was applied".into(),
        },
    );
    let attempt = || async {
        if !transfer::verified(store, message).await? {
            return Ok(());
        }
        match store.commit(failed.clone()).await {
            Ok(status) => {
                publish_outcome(bus, store, marks, message, &status, true).await?;
                record_decided(message, &status);
                Ok(())
            }
            Err(CommitError::AlreadyDecided) => Ok(()),
            Err(error) => Err(Fault::from(error)),
        }
    };
    match retry_in_place(delivery, message.key(), shutdown, attempt).await {
        Retried::Stopped => {}
        Retried::Done(()) => {
            let _ = delivery.ack_with(AckKind::Term).await;
        }
        Retried::GaveUp(fault) => {
            tracing::error!(%fault, key = %message.key(), "cannot even store a failed outcome; the message is terminated");
            let _ = delivery.ack_with(AckKind::Term).await;
        }
    }
}
