//! What other services may read of the event store: a typed boundary. In
//! `ledgerline all` it is the store itself (every [`EventStore`] is one);
//! in a split deployment it is the NATS client of the store's owner
//! (`ledgerline_bus::RemoteStore`), answered by the `event-store` component
//! over one generic request–reply.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use ledgerline_contracts::{CommandKey, EventEnvelope, EventLocation, StatusMessage};
use ledgerline_domain::{AccountId, UserId};
use serde::{Deserialize, Serialize};

use crate::{EventStore, StoreError};

/// The largest page of events one read returns; larger asks are cut to it.
pub const MAX_PAGE: i64 = 1_000;

/// Why a read of the store has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ReadError {
    /// The store (or the way to it) is away: asking again later can work.
    #[error("the event store is unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not decode: asking again will not help.
    #[error("the event store's data is corrupt: {0}")]
    Corrupt(String),
}

impl From<StoreError> for ReadError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Database(e) => Self::Unavailable(e.to_string()),
            StoreError::Stopped(e) => Self::Unavailable(e.to_string()),
            StoreError::Corrupt(e) => Self::Corrupt(e),
        }
    }
}

type Read<'a, T> = BoxFuture<'a, Result<T, ReadError>>;

/// An account's events with `after < version <= up_to`, oldest first,
/// however many: read [`MAX_PAGE`] at a time. Fewer only where the store
/// holds no more (yet).
pub async fn account_events_through(
    store: &dyn StoreReads,
    account: &AccountId,
    after: i64,
    up_to: i64,
) -> Result<Vec<EventEnvelope>, ReadError> {
    paged(
        up_to - after,
        after,
        MAX_PAGE,
        |e| e.version,
        |after, wanted| store.account_events(account, after, wanted),
    )
    .await
}

/// Up to `limit` events after `after`, read `page` at a time:
/// `fetch(after, wanted)` reads one page, and `cursor` says where the next
/// one starts. A short page ends the read, as does one that would not move
/// the cursor on.
pub async fn paged<Page>(
    limit: i64,
    mut after: i64,
    page: i64,
    cursor: impl Fn(&EventEnvelope) -> i64,
    mut fetch: impl FnMut(i64, i64) -> Page,
) -> Result<Vec<EventEnvelope>, ReadError>
where
    Page: Future<Output = Result<Vec<EventEnvelope>, ReadError>>,
{
    let mut events: Vec<EventEnvelope> = Vec::new();
    loop {
        let wanted = (limit - events.len() as i64).min(page);
        if wanted <= 0 {
            return Ok(events);
        }
        let read = fetch(after, wanted).await?;
        let full = read.len() as i64 == wanted;
        let next = read.last().map(&cursor);
        events.extend(read);
        match next {
            Some(next) if full && next > after => after = next,
            _ => return Ok(events),
        }
    }
}

/// Reads of the event store for services that do not own it. Object safe:
/// services hold an `Arc<dyn StoreReads>` and never know which side of the
/// boundary they are on.
pub trait StoreReads: Send + Sync + 'static {
    /// An account's events with `version > after_version`, oldest first (a
    /// projector healing a gap).
    fn account_events<'a>(
        &'a self,
        account: &'a AccountId,
        after_version: i64,
        limit: i64,
    ) -> Read<'a, Vec<EventEnvelope>>;

    /// The global log after `after_position`, only below the safe
    /// high-water mark; with `owner`, only that user's accounts (a rebuild,
    /// a bootstrap, a socket's resume).
    fn events<'a>(
        &'a self,
        after_position: i64,
        limit: i64,
        owner: Option<&'a UserId>,
    ) -> Read<'a, Vec<EventEnvelope>>;

    /// The highest global position written (a read model's lag).
    fn head(&self) -> Read<'_, i64>;

    /// The accounts a user opened (whose events their sockets get).
    fn accounts_of<'a>(&'a self, owner: &'a UserId) -> Read<'a, Vec<AccountId>>;

    /// The account and version at a global position (read-your-writes).
    fn event_at(&self, position: i64) -> Read<'_, Option<EventLocation>>;

    /// The stored outcomes of those of `keys` that were decided.
    fn outcomes<'a>(
        &'a self,
        keys: &'a [CommandKey],
    ) -> Read<'a, HashMap<CommandKey, StatusMessage>>;

    /// Those of `keys` whose users were told their outcome (the outbox's
    /// mark, set once JetStream acknowledged the status; a transfer's on its
    /// own key once its last step's status was): the reconciler settles
    /// them and looks for the rest in the broker.
    fn marked_told<'a>(&'a self, keys: &'a [CommandKey]) -> Read<'a, HashSet<CommandKey>>;
}

impl<S: EventStore> StoreReads for S {
    fn account_events<'a>(
        &'a self,
        account: &'a AccountId,
        after_version: i64,
        limit: i64,
    ) -> Read<'a, Vec<EventEnvelope>> {
        Box::pin(async move {
            Ok(EventStore::account_events(
                self,
                account,
                after_version.max(0),
                limit.clamp(1, MAX_PAGE),
            )
            .await?)
        })
    }

    fn events<'a>(
        &'a self,
        after_position: i64,
        limit: i64,
        owner: Option<&'a UserId>,
    ) -> Read<'a, Vec<EventEnvelope>> {
        Box::pin(async move {
            Ok(self
                .stream(after_position.max(0), limit.clamp(1, MAX_PAGE), owner)
                .await?)
        })
    }

    fn head(&self) -> Read<'_, i64> {
        Box::pin(async move { Ok(self.head_position().await?) })
    }

    fn accounts_of<'a>(&'a self, owner: &'a UserId) -> Read<'a, Vec<AccountId>> {
        Box::pin(async move { Ok(EventStore::accounts_of(self, owner).await?) })
    }

    fn event_at(&self, position: i64) -> Read<'_, Option<EventLocation>> {
        Box::pin(async move {
            let found = EventStore::event_at(self, position).await?;
            Ok(found.map(|(account_id, version)| EventLocation {
                account_id,
                version,
            }))
        })
    }

    fn outcomes<'a>(
        &'a self,
        keys: &'a [CommandKey],
    ) -> Read<'a, HashMap<CommandKey, StatusMessage>> {
        Box::pin(async move { Ok(EventStore::outcomes(self, keys).await?) })
    }

    fn marked_told<'a>(&'a self, keys: &'a [CommandKey]) -> Read<'a, HashSet<CommandKey>> {
        Box::pin(async move { Ok(EventStore::marked_told(self, keys).await?) })
    }
}
