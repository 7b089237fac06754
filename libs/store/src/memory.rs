use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use ledgerline_contracts::{CommandKey, EventEnvelope, StatusMessage};
use ledgerline_domain::{Account, AccountEvent, AccountId, UserId};

use crate::stats::status_name;
use crate::{
    AggregateVersion, CommitError, Decision, EventStore, PointInTime, Rebuilt, StoreError,
    StoreStats,
};

/// The event store in a mutex: same contract as PostgreSQL, for tests of
/// the processor that need no database.
#[derive(Clone, Default)]
pub struct InMemoryEventStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    events: Vec<EventEnvelope>,
    /// Every snapshot of every account, by version (time travel starts
    /// from the latest one at or before its point).
    snapshots: HashMap<AccountId, BTreeMap<i64, Account>>,
    outcomes: HashMap<CommandKey, StatusMessage>,
    told: HashSet<CommandKey>,
}

impl InMemoryEventStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave half a commit behind
        // (commit mutates only after every check), so the data stays valid.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn replay(inner: &Inner, start: Account) -> Account {
        let id = start.id.clone();
        let after = start.version;
        inner
            .events
            .iter()
            .filter(|e| e.aggregate_id == id && e.version > after)
            .fold(start, |account, e| account.apply(&e.event))
    }
}

impl Inner {
    fn version_of(&self, id: &AccountId) -> i64 {
        self.events.iter().filter(|e| &e.aggregate_id == id).count() as i64
    }

    /// Stores a decision already checked by `commit_all`.
    fn append(&mut self, decision: &Decision) -> StatusMessage {
        let mut envelopes = decision.new_envelopes();
        for envelope in &mut envelopes {
            envelope.global_position = self.events.len() as i64 + 1;
            self.events.push(envelope.clone());
        }
        if let Some(snapshot) = &decision.snapshot {
            self.snapshots
                .entry(snapshot.id.clone())
                .or_default()
                .entry(snapshot.version)
                .or_insert_with(|| snapshot.clone());
        }
        let message = decision.status_message(envelopes);
        self.outcomes.insert(decision.key, message.clone());
        message
    }
}

impl EventStore for InMemoryEventStore {
    async fn load(&self, id: &AccountId) -> Result<Account, StoreError> {
        let inner = self.lock();
        let start = inner
            .snapshots
            .get(id)
            .and_then(|by_version| by_version.values().next_back())
            .cloned()
            .unwrap_or_else(|| Account::new(id.clone()));
        Ok(Self::replay(&inner, start))
    }

    async fn load_without_snapshot(&self, id: &AccountId) -> Result<Account, StoreError> {
        Ok(Self::replay(&self.lock(), Account::new(id.clone())))
    }

    async fn outcome(&self, key: CommandKey) -> Result<Option<StatusMessage>, StoreError> {
        Ok(self.lock().outcomes.get(&key).cloned())
    }

    async fn commit(&self, decision: Decision) -> Result<StatusMessage, CommitError> {
        self.commit_all(vec![decision])
            .await?
            .pop()
            .ok_or_else(|| CommitError::Store(StoreError::Corrupt("no outcome".into())))
    }

    async fn outcomes(
        &self,
        keys: &[CommandKey],
    ) -> Result<HashMap<CommandKey, StatusMessage>, StoreError> {
        let inner = self.lock();
        Ok(keys
            .iter()
            .filter_map(|key| inner.outcomes.get(key).map(|o| (*key, o.clone())))
            .collect())
    }

    async fn mark_told(&self, keys: &[CommandKey]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let decided: Vec<CommandKey> = keys
            .iter()
            .filter(|k| inner.outcomes.contains_key(k))
            .copied()
            .collect();
        inner.told.extend(decided);
        Ok(())
    }

    async fn marked_told(&self, keys: &[CommandKey]) -> Result<HashSet<CommandKey>, StoreError> {
        let inner = self.lock();
        Ok(keys
            .iter()
            .filter(|k| inner.told.contains(k))
            .copied()
            .collect())
    }

    async fn commit_all(
        &self,
        decisions: Vec<Decision>,
    ) -> Result<Vec<StatusMessage>, CommitError> {
        let mut inner = self.lock();
        // Every check first, as if the earlier decisions were in: all or none.
        let mut versions: HashMap<AccountId, i64> = HashMap::new();
        let mut decided: HashSet<CommandKey> = HashSet::new();
        for decision in &decisions {
            if inner.outcomes.contains_key(&decision.key) || !decided.insert(decision.key) {
                return Err(CommitError::AlreadyDecided);
            }
            let current = match versions.get(&decision.account_id) {
                Some(version) => *version,
                None => inner.version_of(&decision.account_id),
            };
            if decision.rests_on_account() {
                if current != decision.expected_version {
                    return Err(CommitError::Conflict);
                }
                versions.insert(
                    decision.account_id.clone(),
                    current + decision.event_count() as i64,
                );
            }
        }
        Ok(decisions.iter().map(|d| inner.append(d)).collect())
    }

    async fn account_events(
        &self,
        id: &AccountId,
        after_version: i64,
        limit: i64,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let inner = self.lock();
        let limit = usize::try_from(limit).unwrap_or(0);
        Ok(inner
            .events
            .iter()
            .filter(|e| &e.aggregate_id == id && e.version > after_version)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn stream(
        &self,
        after_position: i64,
        limit: i64,
        owner: Option<&UserId>,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let owned = match owner {
            Some(owner) => Some(self.accounts_of(owner).await?),
            None => None,
        };
        let inner = self.lock();
        let limit = usize::try_from(limit).unwrap_or(0);
        Ok(inner
            .events
            .iter()
            .filter(|e| e.global_position > after_position)
            .filter(|e| {
                owned
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&e.aggregate_id))
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn accounts_of(&self, owner: &UserId) -> Result<Vec<AccountId>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .events
            .iter()
            .filter(|e| matches!(&e.event, AccountEvent::AccountOpened { owner_id, .. } if owner_id == owner))
            .map(|e| e.aggregate_id.clone())
            .collect())
    }

    async fn load_as_of(&self, id: &AccountId, at: PointInTime) -> Result<Rebuilt, StoreError> {
        let inner = self.lock();
        // Appended in version order, so an account's events are too.
        let events: Vec<&EventEnvelope> = inner
            .events
            .iter()
            .filter(|e| &e.aggregate_id == id)
            .collect();
        let current = events.len() as i64;
        let target = match at {
            PointInTime::Version(version) => version.clamp(0, current),
            PointInTime::Time(t) => events
                .iter()
                .position(|e| e.metadata.timestamp > t)
                .map_or(current, |first_after| first_after as i64),
        };
        let snapshot = inner
            .snapshots
            .get(id)
            .and_then(|by_version| by_version.range(..=target).next_back())
            .map(|(_, account)| account.clone());
        let snapshot_version = snapshot.as_ref().map(|a| a.version);
        let start = snapshot.unwrap_or_else(|| Account::new(id.clone()));
        let from = start.version;
        let account = events
            .iter()
            .filter(|e| e.version > from && e.version <= target)
            .fold(start, |account, e| account.apply(&e.event));
        Ok(Rebuilt {
            events_replayed: account.version - from,
            account,
            snapshot_version,
        })
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let inner = self.lock();
        let mut stats = StoreStats {
            events: inner.events.len() as i64,
            aggregates: inner
                .events
                .iter()
                .map(|e| &e.aggregate_id)
                .collect::<HashSet<_>>()
                .len() as i64,
            snapshots: inner.snapshots.values().map(|s| s.len() as i64).sum(),
            head_position: inner.events.last().map_or(0, |e| e.global_position),
            ..StoreStats::default()
        };
        for e in &inner.events {
            *stats
                .events_by_type
                .entry(e.event.event_type().to_owned())
                .or_default() += 1;
        }
        for outcome in inner.outcomes.values() {
            *stats
                .commands_by_status
                .entry(status_name(outcome).to_owned())
                .or_default() += 1;
        }
        Ok(stats.with_every_status())
    }

    async fn aggregate_versions(
        &self,
        after: Option<&AccountId>,
        limit: i64,
    ) -> Result<Vec<AggregateVersion>, StoreError> {
        let inner = self.lock();
        // (latest version, number of events) by aggregate.
        let mut latest: BTreeMap<&AccountId, (i64, i64)> = BTreeMap::new();
        for e in &inner.events {
            let (version, count) = latest.entry(&e.aggregate_id).or_default();
            *version = (*version).max(e.version);
            *count += 1;
        }
        let limit = usize::try_from(limit).unwrap_or(0);
        Ok(latest
            .into_iter()
            .filter(|(id, _)| after.is_none_or(|after| *id > after))
            .take(limit)
            .map(|(id, (version, event_count))| AggregateVersion {
                aggregate_id: id.clone(),
                version,
                event_count,
            })
            .collect())
    }

    async fn event_at(&self, position: i64) -> Result<Option<(AccountId, i64)>, StoreError> {
        Ok(self
            .lock()
            .events
            .iter()
            .find(|e| e.global_position == position)
            .map(|e| (e.aggregate_id.clone(), e.version)))
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        Ok(self.lock().events.last().map_or(0, |e| e.global_position))
    }
}
