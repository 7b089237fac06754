//! The transfer process manager. A transfer is three decisions on two
//! accounts, each an ordinary queued command with a deterministic id and a
//! stored outcome:
//!
//! 1. the user's `Transfer` debits the source (money is "in flight");
//! 2. `CreditTransfer` on the target (anyone may receive);
//! 3. `CompleteTransfer` on the source — or `RefundTransfer` if the credit
//!    was refused.
//!
//! What follows a decision is derived from its stored outcome alone, so a
//! crash anywhere is repaired by redelivery: the step is answered from the
//! store and its follow-up queued again (same id: JetStream and the store
//! drop the repeat). Only the last step tells the user, once, under the
//! transfer's own command id.

use ledgerline_contracts::{CommandMessage, StatusKind, StatusMessage, TransferStep};
use ledgerline_domain::{AccountCommand, AccountEvent};
use ledgerline_store::told::{refusal, transfer_status};
use ledgerline_store::{EventStore, StoreError};
use time::OffsetDateTime;

/// What a committed outcome sets in motion.
#[derive(Debug, Default)]
pub struct FollowUp {
    /// The transfer's next step, to queue.
    pub next: Option<CommandMessage>,
    /// The status envelope to publish to the user (none for a middle step).
    pub status: Option<StatusMessage>,
}

/// A later step of `message`'s transfer, keyed where no client id reaches
/// (see `CommandKey`).
fn step(message: &CommandMessage, step: TransferStep, command: AccountCommand) -> CommandMessage {
    CommandMessage {
        command_id: message.step_key(step).as_uuid(),
        correlation_id: message.correlation_id,
        user_id: message.user_id.clone(),
        accepted_at: OffsetDateTime::now_utc(),
        command,
        // A reconciler's repeat queues the steps it sets in motion under
        // dedup ids of their own as well: the originals may be gone.
        requeued: message.requeued,
    }
}

/// What `message`'s outcome sets in motion. For an outcome decided before
/// (`fresh == false`: a redelivery, or the reconciler's repeat) the
/// transfer is followed through the store past every step already decided,
/// so a repeat re-queues only the first step still undecided — or tells the
/// user the final status — and never a step that has had its outcome.
pub async fn follow_up<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    outcome: &StatusMessage,
    fresh: bool,
) -> Result<FollowUp, StoreError> {
    let mut follow = next_of(store, message, outcome).await?;
    if fresh {
        return Ok(follow);
    }
    while let Some(next) = follow.next.take() {
        match store.outcome(next.key()).await? {
            Some(decided) => follow = next_of(store, &next, &decided).await?,
            None => {
                follow.next = Some(next);
                break;
            }
        }
    }
    Ok(follow)
}

/// The step after `message`, or the status it ends with, from its outcome alone.
async fn next_of<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    outcome: &StatusMessage,
) -> Result<FollowUp, StoreError> {
    let succeeded = outcome.payload.status == StatusKind::Succeeded;
    let follow = match &message.command {
        AccountCommand::Transfer {
            account_id,
            to_account_id,
            amount,
        } if succeeded => {
            let currency = outcome.payload.events.iter().find_map(|e| match &e.event {
                AccountEvent::TransferDebited { currency, .. } => Some(currency.clone()),
                _ => None,
            });
            let Some(currency) = currency else {
                return Err(StoreError::Corrupt(format!(
                    "transfer {} succeeded without a debit",
                    message.key()
                )));
            };
            let credit = AccountCommand::CreditTransfer {
                account_id: to_account_id.clone(),
                from_account_id: account_id.clone(),
                amount: *amount,
                currency,
            };
            FollowUp {
                next: Some(step(message, TransferStep::Credit, credit)),
                status: None,
            }
        }
        AccountCommand::CreditTransfer {
            account_id,
            from_account_id,
            amount,
            ..
        } => {
            let (name, command) = if succeeded {
                let complete = AccountCommand::CompleteTransfer {
                    account_id: from_account_id.clone(),
                    to_account_id: account_id.clone(),
                    amount: *amount,
                };
                (TransferStep::Complete, complete)
            } else {
                // Refused, or failed: either way the money goes back.
                let refund = AccountCommand::RefundTransfer {
                    account_id: from_account_id.clone(),
                    to_account_id: account_id.clone(),
                    amount: *amount,
                };
                (TransferStep::Refund, refund)
            };
            FollowUp {
                next: Some(step(message, name, command)),
                status: None,
            }
        }
        AccountCommand::CompleteTransfer { .. } => FollowUp {
            next: None,
            status: Some(transfer_status(message.correlation_id, outcome, None)),
        },
        AccountCommand::RefundTransfer { .. } => {
            // The user learns why the target refused.
            let credit = store
                .outcome(message.step_key(TransferStep::Credit))
                .await?;
            FollowUp {
                next: None,
                status: Some(transfer_status(
                    message.correlation_id,
                    outcome,
                    Some(refusal(credit.as_ref())),
                )),
            }
        }
        // Every other command (and a refused debit) is its own final status.
        _ => FollowUp {
            next: None,
            status: Some(outcome.clone()),
        },
    };
    Ok(follow)
}

/// A later step is genuine only if it carries the key its transfer derives
/// and its predecessor's stored outcome says it is due — a message forged on
/// NATS cannot create money. An unverified step is dropped without an
/// outcome, so it can never block the real one.
pub async fn verified<S: EventStore>(
    store: &S,
    message: &CommandMessage,
) -> Result<bool, StoreError> {
    let Some(this) = message.transfer_step() else {
        return Ok(true);
    };
    if message.key() != message.step_key(this) {
        return Ok(false);
    }
    let credit = message.step_key(TransferStep::Credit);
    let (predecessor, due): (_, fn(StatusKind) -> bool) = match this {
        TransferStep::Credit => (message.transfer_key(), |s| s == StatusKind::Succeeded),
        TransferStep::Complete => (credit, |s| s == StatusKind::Succeeded),
        // A credit refused, or failed for good: the money goes back.
        TransferStep::Refund => (credit, |s| s != StatusKind::Succeeded),
    };
    let Some(before) = store.outcome(predecessor).await? else {
        return Ok(false);
    };
    if !due(before.payload.status) || before.user_id != message.user_id {
        return Ok(false);
    }
    // The step must move exactly what the transfer debited, between the same accounts.
    let debit = store.outcome(message.transfer_key()).await?.and_then(|d| {
        d.payload.events.iter().find_map(|e| match &e.event {
            AccountEvent::TransferDebited {
                to_account_id,
                amount,
                ..
            } => Some((e.aggregate_id.clone(), to_account_id.clone(), *amount)),
            _ => None,
        })
    });
    let expected = match &message.command {
        AccountCommand::CreditTransfer {
            account_id,
            from_account_id,
            amount,
            ..
        } => (from_account_id, account_id, amount),
        AccountCommand::CompleteTransfer {
            account_id,
            to_account_id,
            amount,
        }
        | AccountCommand::RefundTransfer {
            account_id,
            to_account_id,
            amount,
        } => (account_id, to_account_id, amount),
        _ => return Ok(true),
    };
    Ok(debit.is_some_and(|(from, to, amount)| (&from, &to, &amount) == expected))
}

#[cfg(test)]
mod tests;
