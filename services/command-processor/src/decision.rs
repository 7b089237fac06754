//! A decision on one command, as the event store commits it: the domain's
//! verdict on the account as it stands (with a snapshot when one is due), a
//! `failed` outcome past the deadline, or a `failed` outcome for a command
//! that cannot be decided at all. Pure: no I/O.

use std::time::Duration;

use ledgerline_contracts::{CommandMessage, StatusError, StatusKind};
use ledgerline_domain::{Account, AccountEvent, decide};
use ledgerline_store::Decision;
use time::OffsetDateTime;

/// How the processor decides: snapshot cadence and the deadline after
/// which an accepted command is no longer applied.
#[derive(Debug, Clone, Copy)]
pub struct DecisionPolicy {
    pub snapshot_every: i64,
    /// A command still undecided this long after it was accepted ends as
    /// `failed` / `TIMEOUT` instead — stored like any outcome, so it can
    /// never be applied later, and never gets a second outcome.
    pub deadline: Option<Duration>,
}

/// The `failed` / `TIMEOUT` decision for a command still undecided past
/// the policy's deadline. A transfer's later steps never time out: money
/// in flight must land or come back.
pub fn timeout_decision(message: &CommandMessage, policy: DecisionPolicy) -> Option<Decision> {
    let deadline = policy.deadline?;
    if message.command.is_transfer_step()
        || OffsetDateTime::now_utc() - message.accepted_at <= deadline
    {
        return None;
    }
    Some(failed_decision(
        message,
        StatusError {
            code: "TIMEOUT".to_owned(),
            message: format!(
                "The command was not decided within {} s; it was not applied",
                deadline.as_secs()
            ),
        },
    ))
}

/// A `failed` outcome for `message`: nothing applied, and — stored like any
/// outcome — never applied later.
pub fn failed_decision(message: &CommandMessage, error: StatusError) -> Decision {
    decision(message, 0, None, Err((StatusKind::Failed, error)))
}

/// The decision on `message` against `account` as it is: its events (or
/// the rejection) at the account's version, with a snapshot when one is due.
pub fn decision_on(account: &Account, message: &CommandMessage, snapshot_every: i64) -> Decision {
    let outcome = decide(account, &message.user_id, &message.command).map_err(|rejection| {
        (
            StatusKind::Rejected,
            StatusError {
                code: rejection.code().to_owned(),
                message: rejection.to_string(),
            },
        )
    });
    let snapshot = snapshot_due(account, outcome.as_deref().unwrap_or(&[]), snapshot_every);
    decision(message, account.version, snapshot, outcome)
}

/// `message`'s decision, decided now, to be appended at `expected_version`.
fn decision(
    message: &CommandMessage,
    expected_version: i64,
    snapshot: Option<Account>,
    outcome: Result<Vec<AccountEvent>, (StatusKind, StatusError)>,
) -> Decision {
    Decision {
        key: message.key(),
        command_id: message.command_id,
        correlation_id: message.correlation_id,
        user_id: message.user_id.clone(),
        account_id: message.command.account_id().clone(),
        expected_version,
        snapshot,
        outcome,
        decided_at: OffsetDateTime::now_utc(),
        traceparent: ledgerline_telemetry::traceparent(),
    }
}

/// The account after `events`, when they carry it across a multiple of
/// `every` events.
fn snapshot_due(account: &Account, events: &[AccountEvent], every: i64) -> Option<Account> {
    let after = account.version + events.len() as i64;
    if events.is_empty() || every <= 0 || after / every == account.version / every {
        return None;
    }
    Some(events.iter().fold(account.clone(), Account::apply))
}

#[cfg(test)]
mod tests {
    use ledgerline_domain::AccountId;

    use super::*;

    #[test]
    fn a_snapshot_is_due_when_a_multiple_of_n_is_crossed() {
        let account = Account::new(AccountId::parse("acc-1").unwrap());
        let e = AccountEvent::AccountClosed {};
        assert!(snapshot_due(&account, std::slice::from_ref(&e), 2).is_none());
        assert_eq!(
            snapshot_due(&account, &[e.clone(), e.clone()], 2).map(|a| a.version),
            Some(2)
        );
        assert!(snapshot_due(&account, &[], 1).is_none());
    }
}
