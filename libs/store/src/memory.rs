use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ledgerline_contracts::{EventEnvelope, StatusMessage};
use ledgerline_domain::{Account, AccountEvent, AccountId, UserId};
use uuid::Uuid;

use crate::{CommitError, Decision, EventStore, StoreError};

/// The event store in a mutex: same contract as PostgreSQL, for tests of
/// the processor that need no database.
#[derive(Clone, Default)]
pub struct InMemoryEventStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    events: Vec<EventEnvelope>,
    snapshots: HashMap<AccountId, Account>,
    outcomes: HashMap<Uuid, StatusMessage>,
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

impl EventStore for InMemoryEventStore {
    async fn load(&self, id: &AccountId) -> Result<Account, StoreError> {
        let inner = self.lock();
        let start = inner
            .snapshots
            .get(id)
            .cloned()
            .unwrap_or_else(|| Account::new(id.clone()));
        Ok(Self::replay(&inner, start))
    }

    async fn load_without_snapshot(&self, id: &AccountId) -> Result<Account, StoreError> {
        Ok(Self::replay(&self.lock(), Account::new(id.clone())))
    }

    async fn outcome(&self, command_id: Uuid) -> Result<Option<StatusMessage>, StoreError> {
        Ok(self.lock().outcomes.get(&command_id).cloned())
    }

    async fn commit(&self, decision: Decision) -> Result<StatusMessage, CommitError> {
        let mut inner = self.lock();
        if inner.outcomes.contains_key(&decision.command_id) {
            return Err(CommitError::AlreadyDecided);
        }
        let current = inner
            .events
            .iter()
            .filter(|e| e.aggregate_id == decision.account_id)
            .count() as i64;
        if decision.event_count() > 0 && current != decision.expected_version {
            return Err(CommitError::Conflict);
        }
        let mut envelopes = decision.new_envelopes();
        for envelope in &mut envelopes {
            envelope.global_position = inner.events.len() as i64 + 1;
            inner.events.push(envelope.clone());
        }
        if let Some(snapshot) = &decision.snapshot {
            inner
                .snapshots
                .insert(snapshot.id.clone(), snapshot.clone());
        }
        let message = decision.status_message(envelopes);
        inner.outcomes.insert(decision.command_id, message.clone());
        Ok(message)
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
}
