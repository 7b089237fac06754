use std::collections::{HashMap, HashSet};
use std::future::Future;

use ledgerline_contracts::{CommandKey, EventEnvelope, StatusMessage};
use ledgerline_domain::{Account, AccountId, UserId};

use crate::{
    AggregateVersion, CommitError, Decision, PointInTime, Rebuilt, StoreError, StoreStats,
};

/// Where accounts' events live. Implementations must make `commit` atomic:
/// the events, the outcome and the snapshot are all stored, or none is.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// The account as it is now: the latest snapshot plus the events after it.
    fn load(&self, id: &AccountId) -> impl Future<Output = Result<Account, StoreError>> + Send;

    /// The account rebuilt from its events alone, ignoring snapshots.
    fn load_without_snapshot(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Account, StoreError>> + Send;

    /// The stored outcome of a command, if it was decided.
    fn outcome(
        &self,
        key: CommandKey,
    ) -> impl Future<Output = Result<Option<StatusMessage>, StoreError>> + Send;

    /// Appends the decision's events at `expected_version` and records its
    /// outcome, returning the outcome as published ([`EventStore::commit_all`]
    /// of one).
    fn commit(
        &self,
        decision: Decision,
    ) -> impl Future<Output = Result<StatusMessage, CommitError>> + Send;

    /// The stored outcomes of those of `keys` that were decided.
    fn outcomes(
        &self,
        keys: &[CommandKey],
    ) -> impl Future<Output = Result<HashMap<CommandKey, StatusMessage>, StoreError>> + Send;

    /// Records that the users of `keys` were told: the status each is owed
    /// was acknowledged by JetStream (the outbox; see `told_at` in
    /// `migrations/0004_told.sql`). Keys without an outcome are ignored.
    fn mark_told(&self, keys: &[CommandKey])
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Those of `keys` whose outcome is marked told ([`EventStore::mark_told`]):
    /// their users were told it. A key without an outcome never is.
    fn marked_told(
        &self,
        keys: &[CommandKey],
    ) -> impl Future<Output = Result<HashSet<CommandKey>, StoreError>> + Send;

    /// Group commit: [`EventStore::commit`] of every decision in one
    /// transaction — all of them or none. Decisions on one account come in
    /// version order; the outcomes are returned in the decisions' order.
    ///
    /// Optimistic, whatever the decisions were taken on (a cache, a load):
    /// every decision that rests on its account
    /// ([`Decision::rests_on_account`], a rejection too) must find the
    /// account at its `expected_version` (with the group's earlier
    /// decisions in), or the group fails with [`CommitError::Conflict`];
    /// a command that already has an outcome fails it with
    /// [`CommitError::AlreadyDecided`].
    fn commit_all(
        &self,
        decisions: Vec<Decision>,
    ) -> impl Future<Output = Result<Vec<StatusMessage>, CommitError>> + Send;

    /// An account's events with `version > after_version`, oldest first.
    fn account_events(
        &self,
        id: &AccountId,
        after_version: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<EventEnvelope>, StoreError>> + Send;

    /// The global log after `after_position`, only below the safe high-water
    /// mark; with `owner`, only events of accounts that user owns.
    fn stream(
        &self,
        after_position: i64,
        limit: i64,
        owner: Option<&UserId>,
    ) -> impl Future<Output = Result<Vec<EventEnvelope>, StoreError>> + Send;

    /// The accounts a user has opened.
    fn accounts_of(
        &self,
        owner: &UserId,
    ) -> impl Future<Output = Result<Vec<AccountId>, StoreError>> + Send;

    /// The account as it was at `at`: the latest snapshot at or before that
    /// point, plus its events up to it. A version beyond the account's
    /// current one gives the account as it is now.
    fn load_as_of(
        &self,
        id: &AccountId,
        at: PointInTime,
    ) -> impl Future<Output = Result<Rebuilt, StoreError>> + Send;

    /// Totals: events, aggregates, snapshots, events by type, decided
    /// commands by status.
    fn stats(&self) -> impl Future<Output = Result<StoreStats, StoreError>> + Send;

    /// Each aggregate's latest version and number of events, by aggregate
    /// id, the first `limit` after `after` (paging).
    fn aggregate_versions(
        &self,
        after: Option<&AccountId>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AggregateVersion>, StoreError>> + Send;

    /// The highest global position written so far (0 when empty): how far
    /// the read models have to go.
    fn head_position(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The account and version of the event at a global position.
    fn event_at(
        &self,
        position: i64,
    ) -> impl Future<Output = Result<Option<(AccountId, i64)>, StoreError>> + Send;
}
