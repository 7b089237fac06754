//! Deciding a group of commands together: in order, against the accounts
//! as the earlier commands of the group left them, committed in one
//! transaction. Used by the partition loop (`batch`) and by benchmarks.

use std::collections::{HashMap, HashSet};

use ledgerline_contracts::{CommandMessage, StatusMessage};
use ledgerline_domain::{Account, AccountId};
use ledgerline_store::{EventStore, StoreError};
use tracing::{Instrument, Span};

use crate::DecisionPolicy;
use crate::account_cache::AccountCache;
use crate::handle::{decision_on, timeout_decision};

/// What the group commit made of one command.
pub enum Settled {
    /// Its outcome, and whether it was decided just now (`false`: it had
    /// been decided before and is only published again).
    Outcome {
        status: Box<StatusMessage>,
        fresh: bool,
    },
    /// The same command id came earlier in this group: acked, not published.
    Repeat,
}

/// Decides every command in order and commits them all in one transaction.
/// The cache is updated only after the commit, and forgets every account
/// of the group when the commit fails.
pub async fn decide_group<S: EventStore>(
    store: &S,
    cache: &mut AccountCache,
    pending: &[(&CommandMessage, &Span)],
    policy: DecisionPolicy,
) -> Result<Vec<Settled>, GroupError> {
    let keys: Vec<_> = pending.iter().map(|(m, _)| m.key()).collect();
    let known = store.outcomes(&keys).await?;
    // The cache must be the store's present, or a refusal (which appends
    // nothing, so no version check would catch it) could rest on an old
    // balance: anything written behind this task's back is forgotten.
    let accounts: Vec<AccountId> = pending
        .iter()
        .map(|(m, _)| m.command.account_id())
        .filter(|id| cache.get(id).is_some())
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let stored = store.versions(&accounts).await?;
    for id in &accounts {
        let cached = cache.get(id).map(|a| a.version);
        if cached != Some(stored.get(id).copied().unwrap_or(0)) {
            cache.forget(id);
        }
    }
    let mut working: HashMap<AccountId, Account> = HashMap::new();
    let mut seen = HashSet::new();
    // For each command: its decision's index, or what it is instead.
    let mut plan: Vec<Result<usize, Settled>> = Vec::with_capacity(pending.len());
    let mut decisions = Vec::new();
    for &(message, span) in pending {
        if !seen.insert(message.key()) {
            plan.push(Err(Settled::Repeat));
            continue;
        }
        if let Some(status) = known.get(&message.key()) {
            plan.push(Err(Settled::Outcome {
                status: Box::new(status.clone()),
                fresh: false,
            }));
            continue;
        }
        let decision = match span.in_scope(|| timeout_decision(message, policy)) {
            Some(decision) => decision,
            None => {
                let id = message.command.account_id();
                let account =
                    match working.get(id).or_else(|| cache.get(id)) {
                        Some(account) => {
                            let _load =
                                tracing::info_span!(parent: span, "account.load", from = "cache");
                            account.clone()
                        }
                        None => store
                            .load(id)
                            .instrument(
                                tracing::info_span!(parent: span, "account.load", from = "store"),
                            )
                            .await?,
                    };
                let decision = tracing::info_span!(parent: span, "domain.decide")
                    .in_scope(|| decision_on(&account, message, policy.snapshot_every));
                let after = decision
                    .outcome
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .fold(account, Account::apply);
                working.insert(id.clone(), after);
                decision
            }
        };
        plan.push(Ok(decisions.len()));
        decisions.push(decision);
    }
    // Each command's trace shows the one commit it was part of.
    let size = decisions.len();
    let commit_spans: Vec<Span> = pending
        .iter()
        .zip(&plan)
        .filter(|(_, plan)| plan.is_ok())
        .map(|((_, span), _)| tracing::info_span!(parent: *span, "store.commit", group = size))
        .collect();
    let committed = store.commit_all(decisions).await;
    drop(commit_spans);
    let mut statuses = match committed {
        Ok(statuses) => statuses,
        Err(error) => {
            for id in working.keys() {
                cache.forget(id);
            }
            return Err(GroupError::Commit(error));
        }
    };
    for account in working.into_values() {
        cache.put(account);
    }
    let mut fresh: Vec<Option<StatusMessage>> = statuses.drain(..).map(Some).collect();
    plan.into_iter()
        .map(|step| match step {
            Ok(index) => fresh
                .get_mut(index)
                .and_then(Option::take)
                .map(|status| Settled::Outcome {
                    status: Box::new(status),
                    fresh: true,
                })
                .ok_or(GroupError::Missing(index)),
            Err(settled) => Ok(settled),
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("group commit: {0}")]
    Commit(ledgerline_store::CommitError),
    #[error("the store returned no outcome for decision {0}")]
    Missing(usize),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ledgerline_store::InMemoryEventStore;

    use super::*;
    use crate::handle_command;
    use crate::test_support::message;

    fn acc() -> AccountId {
        AccountId::parse("acc-g").unwrap()
    }
    fn open() -> CommandMessage {
        message(crate::test_support::open(&acc()))
    }
    fn deposit(minor: i64) -> CommandMessage {
        message(crate::test_support::deposit(&acc(), minor))
    }
    fn withdraw(minor: i64) -> CommandMessage {
        message(crate::test_support::withdraw(&acc(), minor))
    }
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
            Settled::Outcome { status, fresh } => Some((status.payload.status, *fresh)),
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
