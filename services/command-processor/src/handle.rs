use ledgerline_contracts::{CommandMessage, StatusError, StatusKind, StatusMessage};
use ledgerline_domain::{Account, decide};
use ledgerline_store::{CommitError, Decision, EventStore, StoreError};
use std::time::Duration;

use tracing::Instrument;

use time::OffsetDateTime;

/// How many times a command is decided again after losing a version race
/// before the processor gives up on this delivery (it will be redelivered).
const MAX_CONFLICT_RETRIES: usize = 16;

/// The outcome of a command, and whether it was decided just now (`false`
/// when it had been decided before and is only being published again).
#[derive(Debug, Clone)]
pub struct Handled {
    pub status: StatusMessage,
    pub fresh: bool,
}

/// Decides a command exactly once. A command id the store already knows is
/// answered with its stored outcome; a version conflict reloads the account
/// and decides again.
pub async fn handle_command<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    snapshot_every: i64,
) -> Result<Handled, StoreError> {
    decide_command(
        store,
        message,
        DecisionPolicy {
            snapshot_every,
            deadline: None,
        },
    )
    .await
}

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

/// [`handle_command`] with a full policy.
pub async fn decide_command<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    policy: DecisionPolicy,
) -> Result<Handled, StoreError> {
    let snapshot_every = policy.snapshot_every;
    if let Some(status) = store.outcome(message.key()).await? {
        return Ok(Handled {
            status,
            fresh: false,
        });
    }
    let account_id = message.command.account_id();
    if let Some(decision) = timeout_decision(message, policy) {
        return match store.commit(decision).await {
            Ok(status) => Ok(Handled {
                status,
                fresh: true,
            }),
            Err(CommitError::Store(e)) => Err(e),
            Err(_) => store
                .outcome(message.key())
                .await?
                .map(|status| Handled {
                    status,
                    fresh: false,
                })
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("command {} has no outcome", message.command_id))
                }),
        };
    }
    for _ in 0..MAX_CONFLICT_RETRIES {
        let account = store
            .load(account_id)
            .instrument(tracing::info_span!("account.load", from = "store"))
            .await?;
        let decision = tracing::info_span!("domain.decide")
            .in_scope(|| decision_on(&account, message, snapshot_every));
        match store
            .commit(decision)
            .instrument(tracing::info_span!("store.commit"))
            .await
        {
            Ok(status) => {
                return Ok(Handled {
                    status,
                    fresh: true,
                });
            }
            Err(CommitError::Conflict) => continue,
            Err(CommitError::AlreadyDecided) => {
                if let Some(status) = store.outcome(message.key()).await? {
                    return Ok(Handled {
                        status,
                        fresh: false,
                    });
                }
            }
            Err(CommitError::Store(e)) => return Err(e),
        }
    }
    Err(StoreError::Corrupt(format!(
        "command {} lost {MAX_CONFLICT_RETRIES} version races in a row",
        message.command_id
    )))
}

/// The `failed` / `TIMEOUT` decision for a command still undecided past
/// the policy's deadline. A transfer's later steps never time out: money
/// in flight must land or come back.
pub(crate) fn timeout_decision(
    message: &CommandMessage,
    policy: DecisionPolicy,
) -> Option<Decision> {
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
pub(crate) fn failed_decision(message: &CommandMessage, error: StatusError) -> Decision {
    Decision {
        key: message.key(),
        command_id: message.command_id,
        correlation_id: message.correlation_id,
        user_id: message.user_id.clone(),
        account_id: message.command.account_id().clone(),
        expected_version: 0,
        snapshot: None,
        outcome: Err((StatusKind::Failed, error)),
        decided_at: OffsetDateTime::now_utc(),
        traceparent: ledgerline_telemetry::traceparent(),
    }
}

/// The decision on `message` against `account` as it is: its events (or
/// the rejection) at the account's version, with a snapshot when one is due.
pub(crate) fn decision_on(
    account: &Account,
    message: &CommandMessage,
    snapshot_every: i64,
) -> Decision {
    let outcome = decide(account, &message.user_id, &message.command).map_err(|rejection| {
        (
            StatusKind::Rejected,
            StatusError {
                code: rejection.code().to_owned(),
                message: rejection.to_string(),
            },
        )
    });
    Decision {
        key: message.key(),
        command_id: message.command_id,
        correlation_id: message.correlation_id,
        user_id: message.user_id.clone(),
        account_id: account.id.clone(),
        expected_version: account.version,
        snapshot: snapshot_due(account, outcome.as_deref().unwrap_or(&[]), snapshot_every),
        outcome,
        decided_at: OffsetDateTime::now_utc(),
        traceparent: ledgerline_telemetry::traceparent(),
    }
}

/// The account after `events`, when they carry it across a multiple of
/// `every` events.
fn snapshot_due(
    account: &Account,
    events: &[ledgerline_domain::AccountEvent],
    every: i64,
) -> Option<Account> {
    let after = account.version + events.len() as i64;
    if events.is_empty() || every <= 0 || after / every == account.version / every {
        return None;
    }
    Some(events.iter().fold(account.clone(), Account::apply))
}

#[cfg(test)]
mod tests {
    use ledgerline_domain::{AccountCommand, AccountId, Amount};
    use ledgerline_store::InMemoryEventStore;

    use super::*;
    use crate::test_support::message;

    fn acc() -> AccountId {
        AccountId::parse("acc-1").unwrap()
    }
    fn open() -> AccountCommand {
        crate::test_support::open(&acc())
    }
    fn deposit(minor: i64) -> AccountCommand {
        crate::test_support::deposit(&acc(), minor)
    }

    #[tokio::test]
    async fn a_redelivered_command_is_answered_from_the_store_not_decided_again() {
        let store = InMemoryEventStore::new();
        handle_command(&store, &message(open()), 10).await.unwrap();
        let dep = message(deposit(500));
        let first = handle_command(&store, &dep, 10).await.unwrap();
        let again = handle_command(&store, &dep, 10).await.unwrap();
        assert!(first.fresh && !again.fresh);
        assert_eq!(first.status, again.status);
        assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 500);
    }

    #[tokio::test]
    async fn a_rejection_is_stored_and_changes_nothing() {
        let store = InMemoryEventStore::new();
        handle_command(&store, &message(open()), 10).await.unwrap();
        let over = message(AccountCommand::withdraw(
            acc(),
            Amount::from_minor(1).unwrap(),
        ));
        let handled = handle_command(&store, &over, 10).await.unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Rejected);
        assert_eq!(
            handled
                .status
                .payload
                .error
                .as_ref()
                .map(|e| e.code.as_str()),
            Some("INSUFFICIENT_FUNDS")
        );
        assert_eq!(store.load(&acc()).await.unwrap().version, 1);
        assert!(store.outcome(over.key()).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn snapshots_are_taken_every_n_events_and_do_not_change_the_state() {
        let store = InMemoryEventStore::new();
        handle_command(&store, &message(open()), 3).await.unwrap();
        for minor in 1..=7 {
            handle_command(&store, &message(deposit(minor)), 3)
                .await
                .unwrap();
        }
        let with = store.load(&acc()).await.unwrap();
        let without = store.load_without_snapshot(&acc()).await.unwrap();
        assert_eq!(with, without);
        assert_eq!((with.version, with.balance().minor()), (8, 28));
    }

    #[tokio::test]
    async fn a_command_past_its_deadline_fails_with_timeout_and_is_never_applied() {
        let store = InMemoryEventStore::new();
        handle_command(&store, &message(open()), 10).await.unwrap();
        let mut late = message(deposit(500));
        late.accepted_at -= Duration::from_secs(60);
        let policy = DecisionPolicy {
            snapshot_every: 10,
            deadline: Some(Duration::from_secs(30)),
        };
        let handled = decide_command(&store, &late, policy).await.unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Failed);
        assert_eq!(
            handled
                .status
                .payload
                .error
                .as_ref()
                .map(|e| e.code.as_str()),
            Some("TIMEOUT")
        );
        // Redelivered later, even without a deadline: still the stored outcome.
        let again = handle_command(&store, &late, 10).await.unwrap();
        assert_eq!((again.fresh, again.status), (false, handled.status));
        assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 0);
    }

    #[tokio::test]
    async fn a_command_within_its_deadline_is_decided() {
        let store = InMemoryEventStore::new();
        let policy = DecisionPolicy {
            snapshot_every: 10,
            deadline: Some(Duration::from_secs(30)),
        };
        let handled = decide_command(&store, &message(open()), policy)
            .await
            .unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Succeeded);
    }

    #[test]
    fn a_snapshot_is_due_when_a_multiple_of_n_is_crossed() {
        let account = ledgerline_domain::Account::new(acc());
        let e = ledgerline_domain::AccountEvent::AccountClosed {};
        assert!(snapshot_due(&account, std::slice::from_ref(&e), 2).is_none());
        assert_eq!(
            snapshot_due(&account, &[e.clone(), e.clone()], 2).map(|a| a.version),
            Some(2)
        );
        assert!(snapshot_due(&account, &[], 1).is_none());
    }
}
