//! What a user is told of their command: its stored outcome — except a
//! transfer's, whose own record is only its debit. A transfer is told when
//! its last step is decided (completed: succeeded; refunded: rejected with
//! the target's refusal), under the transfer's own id. The processor builds
//! the status it publishes with [`transfer_status`], and `GET /commands/{id}`
//! and the reconciler read the same answer back with [`told`], so the two
//! never disagree.

use std::collections::HashMap;

use ledgerline_contracts::{
    CommandKey, StatusEnvelope, StatusError, StatusKind, StatusMessage, TransferStep,
};
use ledgerline_domain::AccountEvent;
use uuid::Uuid;

use crate::{ReadError, StoreReads};

/// The transfer's final status, from its last step's outcome (`last`: the
/// completion, or the refund when `refusal` says why the target refused):
/// under the transfer's id `transfer_id`, for its user.
pub fn transfer_status(
    transfer_id: Uuid,
    last: &StatusMessage,
    refusal: Option<StatusError>,
) -> StatusMessage {
    let result = match (last.payload.status, refusal) {
        (StatusKind::Succeeded, None) => Ok(last.payload.events.clone()),
        (StatusKind::Succeeded, Some(refusal)) => Err((StatusKind::Rejected, refusal)),
        (kind, _) => Err((
            StatusKind::Failed,
            last.payload.error.clone().unwrap_or(StatusError {
                code: format!("{kind:?}").to_uppercase(),
                message: "The transfer could not be finished".into(),
            }),
        )),
    };
    let refunded = result.is_err() && last.payload.status == StatusKind::Succeeded;
    let mut payload = StatusEnvelope::new(transfer_id, &last.payload.entity_id, result);
    payload.timestamp = last.payload.timestamp;
    if refunded {
        // Rejected, but something did happen: the money came back.
        payload.events = last.payload.events.clone();
        payload.position = last.payload.position;
    }
    StatusMessage {
        user_id: last.user_id.clone(),
        payload,
    }
}

/// Why the target refused a transfer, from its credit step's outcome.
pub fn refusal(credit: Option<&StatusMessage>) -> StatusError {
    credit
        .and_then(|c| c.payload.error.clone())
        .unwrap_or(StatusError {
            code: "TRANSFER_REFUSED".into(),
            message: "The target account refused the transfer".into(),
        })
}

/// Whether an outcome is a transfer's debit (whose user is told only when
/// the transfer's last step is decided).
fn is_debit(outcome: &StatusMessage) -> bool {
    outcome.payload.status == StatusKind::Succeeded
        && outcome
            .payload
            .events
            .iter()
            .any(|e| matches!(e.event, AccountEvent::TransferDebited { .. }))
}

/// What the users of those of `keys` (users' own command keys) that are
/// decided have been told; a transfer under way is not decided yet. Three
/// batched reads at most: the commands, their transfers' credits, and
/// their completions or refunds.
pub async fn told<R: StoreReads + ?Sized>(
    reads: &R,
    keys: &[CommandKey],
) -> Result<HashMap<CommandKey, StatusMessage>, ReadError> {
    let mut told = reads.outcomes(keys).await?;
    let transfers: Vec<(CommandKey, Uuid)> = told
        .iter()
        .filter(|(_, outcome)| is_debit(outcome))
        .map(|(key, outcome)| (*key, outcome.payload.command_id))
        .collect();
    if transfers.is_empty() {
        return Ok(told);
    }
    for (key, _) in &transfers {
        told.remove(key);
    }
    let step = |key: CommandKey, step| CommandKey::of_step(key, step);
    let credits = reads
        .outcomes(
            &transfers
                .iter()
                .map(|(k, _)| step(*k, TransferStep::Credit))
                .collect::<Vec<_>>(),
        )
        .await?;
    // The step after each decided credit: completion, or refund.
    let lasts: Vec<(CommandKey, Uuid, CommandKey)> = transfers
        .iter()
        .filter_map(|(key, id)| {
            let credit = credits.get(&step(*key, TransferStep::Credit))?;
            let last = match credit.payload.status {
                StatusKind::Succeeded => TransferStep::Complete,
                _ => TransferStep::Refund,
            };
            Some((*key, *id, step(*key, last)))
        })
        .collect();
    let finished = reads
        .outcomes(&lasts.iter().map(|(_, _, l)| *l).collect::<Vec<_>>())
        .await?;
    for (key, id, last) in lasts {
        let Some(last_outcome) = finished.get(&last) else {
            continue;
        };
        let credit = credits.get(&step(key, TransferStep::Credit));
        let refused = credit
            .filter(|c| c.payload.status != StatusKind::Succeeded)
            .map(|c| refusal(Some(c)));
        told.insert(key, transfer_status(id, last_outcome, refused));
    }
    Ok(told)
}
