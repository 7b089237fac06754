//! Deciding one command alone (`handle_command`) and a group together
//! (`decide_group`): the same function, so the same rules.

use ledgerline_contracts::CommandMessage;
use ledgerline_domain::AccountId;
use ledgerline_testkit::commands::{self, message};

/// The account of every command here, all of them alice's.
const ACCOUNT: &str = "acc-1";

fn acc() -> AccountId {
    commands::account(ACCOUNT)
}
fn open() -> CommandMessage {
    message("alice", commands::open(ACCOUNT))
}
fn deposit(minor: i64) -> CommandMessage {
    message("alice", commands::deposit(ACCOUNT, minor))
}
fn withdraw(minor: i64) -> CommandMessage {
    message("alice", commands::withdraw(ACCOUNT, minor))
}

/// A store in which the account is open, snapshotting every `snapshot_every` events.
async fn with_account(snapshot_every: i64) -> ledgerline_store::InMemoryEventStore {
    let store = ledgerline_store::InMemoryEventStore::new();
    super::handle_command(&store, &open(), snapshot_every)
        .await
        .unwrap();
    store
}

/// One command at a time, from the store.
mod one_command {
    use std::time::Duration;

    use ledgerline_contracts::StatusKind;
    use ledgerline_store::InMemoryEventStore;

    use super::super::*;
    use super::{acc, deposit, open, with_account, withdraw};
    /// The code of the error `handled` answered with.
    fn error_code(handled: &Handled) -> Option<&str> {
        handled
            .status
            .payload
            .error
            .as_ref()
            .map(|e| e.code.as_str())
    }

    #[tokio::test]
    async fn a_redelivered_command_is_answered_from_the_store_not_decided_again() {
        let store = with_account(10).await;
        let dep = deposit(500);
        let first = handle_command(&store, &dep, 10).await.unwrap();
        let again = handle_command(&store, &dep, 10).await.unwrap();
        assert!(first.fresh && !again.fresh);
        assert_eq!(first.status, again.status);
        assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 500);
    }

    #[tokio::test]
    async fn a_rejection_is_stored_and_changes_nothing() {
        let store = with_account(10).await;
        let over = withdraw(1);
        let handled = handle_command(&store, &over, 10).await.unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Rejected);
        assert_eq!(error_code(&handled), Some("INSUFFICIENT_FUNDS"));
        assert_eq!(store.load(&acc()).await.unwrap().version, 1);
        assert!(store.outcome(over.key()).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn snapshots_are_taken_every_n_events_and_do_not_change_the_state() {
        let store = with_account(3).await;
        for minor in 1..=7 {
            handle_command(&store, &deposit(minor), 3).await.unwrap();
        }
        let with = store.load(&acc()).await.unwrap();
        let without = store.load_without_snapshot(&acc()).await.unwrap();
        assert_eq!(with, without);
        assert_eq!((with.version, with.balance().minor()), (8, 28));
    }

    #[tokio::test]
    async fn a_command_past_its_deadline_fails_with_timeout_and_is_never_applied() {
        let store = with_account(10).await;
        let mut late = deposit(500);
        late.accepted_at -= Duration::from_secs(60);
        let policy = DecisionPolicy {
            snapshot_every: 10,
            deadline: Some(Duration::from_secs(30)),
        };
        let handled = decide_command(&store, &late, policy).await.unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Failed);
        assert_eq!(error_code(&handled), Some("TIMEOUT"));
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
        let handled = decide_command(&store, &open(), policy).await.unwrap();
        assert_eq!(handled.status.payload.status, StatusKind::Succeeded);
    }
}

/// Groups, against the partition's cache.
mod groups {
    use std::time::Duration;

    use ledgerline_store::InMemoryEventStore;

    use super::super::*;
    use super::{acc, deposit, open, withdraw};
    const POLICY: DecisionPolicy = DecisionPolicy {
        snapshot_every: 10,
        deadline: None,
    };

    async fn decide(
        store: &InMemoryEventStore,
        cache: &mut AccountCache,
        messages: &[CommandMessage],
        policy: DecisionPolicy,
    ) -> Vec<Settled> {
        let span = Span::none();
        let group: Vec<_> = messages.iter().map(|m| (m, &span)).collect();
        decide_group(store, cache, &group, policy).await.unwrap()
    }

    fn status(settled: &Settled) -> Option<(ledgerline_contracts::StatusKind, bool)> {
        match settled {
            Settled::Outcome(handled) => Some((handled.status.payload.status, handled.fresh)),
            Settled::Repeat => None,
        }
    }

    #[tokio::test]
    async fn a_group_decides_in_order_and_answers_repeats_and_known_ids_from_the_store() {
        use ledgerline_contracts::StatusKind::{Rejected, Succeeded};
        let store = InMemoryEventStore::new();
        let mut cache = AccountCache::new(10);
        let decided_before = open();
        handle_command(&store, &decided_before, 10).await.unwrap();
        // Withdrawing 5 only works after the deposit before it in the group.
        let (dep, wd) = (deposit(5), withdraw(5));
        let group = [
            decided_before.clone(),
            withdraw(1),
            dep.clone(),
            wd.clone(),
            dep,
        ];
        let settled = decide(&store, &mut cache, &group, POLICY).await;
        let got: Vec<_> = settled.iter().map(status).collect();
        assert_eq!(
            got,
            [
                Some((Succeeded, false)),
                Some((Rejected, true)),
                Some((Succeeded, true)),
                Some((Succeeded, true)),
                None
            ]
        );
        let account = store.load(&acc()).await.unwrap();
        assert_eq!((account.version, account.balance().minor()), (3, 0));
        assert_eq!(cache.get(&acc()).map(|a| a.version), Some(3));
    }

    #[tokio::test]
    async fn an_account_written_behind_the_cache_is_reloaded_before_a_refusal() {
        use ledgerline_contracts::StatusKind::Succeeded;
        let store = InMemoryEventStore::new();
        let mut cache = AccountCache::new(10);
        decide(&store, &mut cache, &[open()], POLICY).await;
        // Another writer deposits; the cache still says balance 0.
        handle_command(&store, &deposit(7), 10).await.unwrap();
        let settled = decide(&store, &mut cache, &[withdraw(7)], POLICY).await;
        assert_eq!(status(&settled[0]), Some((Succeeded, true)));
        assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 0);
    }

    #[tokio::test]
    async fn a_command_past_its_deadline_fails_inside_a_group_and_changes_nothing() {
        use ledgerline_contracts::StatusKind::{Failed, Succeeded};
        let store = InMemoryEventStore::new();
        let mut cache = AccountCache::new(10);
        let mut late = deposit(9);
        late.accepted_at -= Duration::from_secs(60);
        let policy = DecisionPolicy {
            snapshot_every: 10,
            deadline: Some(Duration::from_secs(30)),
        };
        let settled = decide(&store, &mut cache, &[open(), late, deposit(1)], policy).await;
        let got: Vec<_> = settled.iter().map(status).collect();
        assert_eq!(
            got,
            [
                Some((Succeeded, true)),
                Some((Failed, true)),
                Some((Succeeded, true))
            ]
        );
        assert_eq!(store.load(&acc()).await.unwrap().balance().minor(), 1);
    }
}
