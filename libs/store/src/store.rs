use std::future::Future;

use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::{Account, AccountId, UserId};
use uuid::Uuid;

use crate::{CommitError, Decision, StoreError};

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
        command_id: Uuid,
    ) -> impl Future<Output = Result<Option<StatusMessage>, StoreError>> + Send;

    /// Appends the decision's events at `expected_version` and records its
    /// outcome, returning the outcome as published.
    fn commit(
        &self,
        decision: Decision,
    ) -> impl Future<Output = Result<StatusMessage, CommitError>> + Send;

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
}
