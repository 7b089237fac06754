//! The one way the processor decides: a slice of commands, in the order
//! they were accepted, each against its account as the commands before it
//! left it — from the partition's cache or loaded from the store — and all
//! of them committed in one transaction. The partition loop decides what is
//! waiting on a partition this way; a group of one is the careful path (see
//! `careful`), the tests' `handle_command` and the benchmarks'
//! one-at-a-time run, as `PostgresEventStore::commit` is a group commit of
//! one.
//!
//! Every rule of deciding lives here, once: a command the store already
//! decided is answered with its stored outcome (never decided twice); one
//! past its deadline ends `failed` / `TIMEOUT`; a snapshot rides along when
//! one is due.
//!
//! Optimistic: the first attempt trusts the cache and takes the commands
//! for new, and the store's commit checks both — every account still at
//! the version its decisions were taken on (a refusal too, which appends
//! nothing), every command without an outcome. A commit that lost a race —
//! another writer appended to an account, or decided one of the commands
//! (a redelivery) — forgets the accounts and decides the whole slice again
//! from the store, reading the stored outcomes first. So a slice of new
//! commands on cached accounts costs the store one statement.

use std::collections::{HashMap, HashSet};

use ledgerline_contracts::{CommandKey, CommandMessage, StatusMessage};
use ledgerline_domain::{Account, AccountId};
use ledgerline_store::{CommitError, EventStore, StoreError};
use tracing::{Instrument, Span};

use crate::account_cache::AccountCache;
use crate::decision::{DecisionPolicy, decision_on, timeout_decision};

/// How many times a slice is decided again after losing a race before the
/// processor gives up on it for now (the careful path retries in place;
/// the message is redelivered if that ends too). Races only happen while
/// a partition changes hands, so a few suffice; 16 rides out a burst.
const MAX_RACES: usize = 16;

/// The outcome of a command, and whether it was decided just now (`false`
/// when it had been decided before and is only being published again).
#[derive(Debug, Clone)]
pub struct Handled {
    pub status: StatusMessage,
    pub fresh: bool,
}

/// What deciding made of one command of a slice.
#[derive(Debug)]
pub enum Settled {
    Outcome(Box<Handled>),
    /// The same command came earlier in this slice: acked, not published.
    Repeat,
}

/// Decides a command exactly once, from the store. A command id the store
/// already knows is answered with its stored outcome; a version conflict
/// reloads the account and decides again.
pub async fn handle_command<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    snapshot_every: i64,
) -> Result<Handled, StoreError> {
    let policy = DecisionPolicy {
        snapshot_every,
        deadline: None,
    };
    decide_command(store, message, policy).await
}

/// [`handle_command`] with a full policy: [`decide_group`] of one, with
/// nothing cached, under the current span.
pub async fn decide_command<S: EventStore>(
    store: &S,
    message: &CommandMessage,
    policy: DecisionPolicy,
) -> Result<Handled, StoreError> {
    let span = Span::current();
    let mut nothing_cached = AccountCache::new(1);
    let settled = decide_group(store, &mut nothing_cached, &[(message, &span)], policy).await?;
    match settled.into_iter().next() {
        Some(Settled::Outcome(handled)) => Ok(*handled),
        _ => Err(StoreError::Corrupt(format!(
            "command {} has no outcome",
            message.command_id
        ))),
    }
}

/// Decides every command in order and commits them all in one transaction
/// (see the module docs); each command's spans go under its own span. The
/// cache is updated only after the commit, and forgets every account of
/// the slice when a commit fails.
pub async fn decide_group<S: EventStore>(
    store: &S,
    cache: &mut AccountCache,
    pending: &[(&CommandMessage, &Span)],
    policy: DecisionPolicy,
) -> Result<Vec<Settled>, StoreError> {
    for attempt in 0..MAX_RACES {
        // The first attempt takes every command for new: the commit says
        // if one was not.
        let known = if attempt == 0 {
            HashMap::new()
        } else {
            let keys: Vec<_> = pending.iter().map(|(m, _)| m.key()).collect();
            store.outcomes(&keys).await?
        };
        match decide_once(store, cache, pending, policy, known).await {
            Ok(settled) => return Ok(settled),
            Err(CommitError::Conflict | CommitError::AlreadyDecided) => continue,
            Err(CommitError::Store(error)) => return Err(error),
        }
    }
    let first = pending.first().map(|(m, _)| m.command_id.to_string());
    Err(StoreError::Corrupt(format!(
        "command {} (of {} decided together) lost {MAX_RACES} races in a row",
        first.unwrap_or_default(),
        pending.len()
    )))
}

/// One attempt: decide against what the cache and the store hold now,
/// `known` being the stored outcomes of those of the commands that have
/// one, as far as they were read; then commit.
async fn decide_once<S: EventStore>(
    store: &S,
    cache: &mut AccountCache,
    pending: &[(&CommandMessage, &Span)],
    policy: DecisionPolicy,
    known: HashMap<CommandKey, StatusMessage>,
) -> Result<Vec<Settled>, CommitError> {
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
            plan.push(Err(Settled::Outcome(Box::new(Handled {
                status: status.clone(),
                fresh: false,
            }))));
            continue;
        }
        let decision = match span.in_scope(|| timeout_decision(message, policy)) {
            Some(decision) => decision,
            None => {
                let id = message.command.account_id();
                let account = match working.get(id).or_else(|| cache.get(id)) {
                    Some(account) => {
                        let _load =
                            tracing::info_span!(parent: span, "account.load", from = "cache");
                        account.clone()
                    }
                    None => {
                        let load =
                            tracing::info_span!(parent: span, "account.load", from = "store");
                        store.load(id).instrument(load).await?
                    }
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
    let statuses = match committed {
        Ok(statuses) => statuses,
        Err(error) => {
            for id in working.keys() {
                cache.forget(id);
            }
            return Err(error);
        }
    };
    for account in working.into_values() {
        cache.put(account);
    }
    let mut fresh: Vec<Option<StatusMessage>> = statuses.into_iter().map(Some).collect();
    plan.into_iter()
        .map(|step| match step {
            Ok(index) => fresh
                .get_mut(index)
                .and_then(Option::take)
                .map(|status| {
                    Settled::Outcome(Box::new(Handled {
                        status,
                        fresh: true,
                    }))
                })
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "the store returned no outcome for decision {index}"
                    ))
                    .into()
                }),
            Err(settled) => Ok(settled),
        })
        .collect()
}

#[cfg(test)]
mod tests;
