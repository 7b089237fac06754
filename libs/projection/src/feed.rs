//! The event feed: the read models of one process share one durable
//! consumer on `bank.evt.>`, so an event is delivered to a process once
//! and acked once, whichever read models it runs (`ledgerline all` runs
//! three). A process running one read model keeps that read model's
//! durable (`balance-service`); several share one named after all of
//! them (`audit-service_balance-service_history-service`).

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use ledgerline_bus::Delivery;
use ledgerline_contracts::EventEnvelope;
use ledgerline_store::StoreReads;
use time::OffsetDateTime;

use crate::batch::{Verdict, apply_batch};
use crate::bootstrap::bootstrap;
use crate::projector::Projector;
use crate::read_model::ReadModelDb;

/// Where a read model that has never run starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The beginning of the event stream.
    Stream,
    /// The event store, replayed through its owner, then the stream
    /// from shortly before (the stream keeps only days of events).
    EventStore,
}

/// One read model as the feed sees it.
pub(crate) trait Member: Send + Sync {
    /// Its durable consumer's name when it is alone in its process.
    fn durable(&self) -> &'static str;

    /// Where the stream must be followed from when the feed's consumer is
    /// new: `Some(time)` after a bootstrap from the event store, `None`
    /// for the stream's beginning.
    fn start<'a>(&'a self, store: &'a Arc<dyn StoreReads>)
    -> BoxFuture<'a, Option<OffsetDateTime>>;

    /// Applies a live batch; a verdict per event (see [`apply_batch`]).
    fn apply<'a>(
        &'a self,
        store: &'a dyn StoreReads,
        deliveries: &'a [Delivery],
        events: &'a [EventEnvelope],
    ) -> BoxFuture<'a, Vec<Verdict>>;
}

/// A projector and the schema it writes.
pub(crate) struct ReadModelMember<P: Projector> {
    pub projector: P,
    pub db: ReadModelDb,
    pub start_from: StartFrom,
}

impl<P: Projector> Member for ReadModelMember<P> {
    fn durable(&self) -> &'static str {
        P::DURABLE
    }

    fn start<'a>(
        &'a self,
        store: &'a Arc<dyn StoreReads>,
    ) -> BoxFuture<'a, Option<OffsetDateTime>> {
        Box::pin(async move {
            match self.start_from {
                StartFrom::Stream => None,
                StartFrom::EventStore => bootstrap(store, &self.db, &self.projector).await,
            }
        })
    }

    fn apply<'a>(
        &'a self,
        store: &'a dyn StoreReads,
        deliveries: &'a [Delivery],
        events: &'a [EventEnvelope],
    ) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(apply_batch(
            store,
            &self.db,
            &self.projector,
            deliveries,
            events,
        ))
    }
}

/// The durable consumer shared by `members`: the lone member's own, or
/// their names sorted and joined with `_`.
pub(crate) fn durable_of(members: &[Arc<dyn Member>]) -> String {
    let mut names: Vec<&str> = members.iter().map(|m| m.durable()).collect();
    names.sort_unstable();
    names.dedup();
    names.join("_")
}

/// Where a new consumer for all of `members` starts: the earliest of their
/// bootstraps, or the stream's beginning if any of them needs it.
pub(crate) async fn start_of(
    members: &[Arc<dyn Member>],
    store: &Arc<dyn StoreReads>,
) -> Option<OffsetDateTime> {
    let starts = futures::future::join_all(members.iter().map(|m| m.start(store))).await;
    starts
        .into_iter()
        .try_fold(None, |earliest: Option<OffsetDateTime>, start| {
            let start = start?;
            Some(Some(earliest.map_or(start, |e| e.min(start))))
        })
        .flatten()
}

/// The read models of one process gathering into their feed: the process
/// says how many it runs, each joins as it starts, and the one that
/// completes the set starts the feed (see `service`).
#[derive(Clone)]
pub struct EventFeed(Arc<Mutex<Gathering>>);

struct Gathering {
    expected: usize,
    members: Vec<Arc<dyn Member>>,
    durable: Option<String>,
}

impl EventFeed {
    /// A feed for the `read_models` this process runs.
    pub fn expecting(read_models: usize) -> Self {
        Self(Arc::new(Mutex::new(Gathering {
            expected: read_models,
            members: Vec::new(),
            durable: None,
        })))
    }

    fn gathering(&self) -> std::sync::MutexGuard<'_, Gathering> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a read model; the members, once this one completes the set.
    pub(crate) fn join(&self, member: Arc<dyn Member>) -> Option<Vec<Arc<dyn Member>>> {
        let mut gathering = self.gathering();
        gathering.members.push(member);
        if gathering.members.len() != gathering.expected {
            return None;
        }
        gathering.durable = Some(durable_of(&gathering.members));
        Some(gathering.members.clone())
    }

    /// The feed's durable consumer, once every read model has joined.
    pub fn durable(&self) -> Option<String> {
        self.gathering().durable.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str, Option<OffsetDateTime>);

    impl Member for Named {
        fn durable(&self) -> &'static str {
            self.0
        }
        fn start<'a>(
            &'a self,
            _: &'a Arc<dyn StoreReads>,
        ) -> BoxFuture<'a, Option<OffsetDateTime>> {
            Box::pin(async move { self.1 })
        }
        fn apply<'a>(
            &'a self,
            _: &'a dyn StoreReads,
            _: &'a [Delivery],
            events: &'a [EventEnvelope],
        ) -> BoxFuture<'a, Vec<Verdict>> {
            Box::pin(async move { vec![Verdict::Applied; events.len()] })
        }
    }

    fn members(named: &[(&'static str, Option<OffsetDateTime>)]) -> Vec<Arc<dyn Member>> {
        named
            .iter()
            .map(|&(name, start)| Arc::new(Named(name, start)) as Arc<dyn Member>)
            .collect()
    }

    #[test]
    fn a_lone_read_model_keeps_its_durable_and_several_share_one_named_after_all() {
        assert_eq!(
            durable_of(&members(&[("balance-service", None)])),
            "balance-service"
        );
        let all = members(&[
            ("history-service", None),
            ("audit-service", None),
            ("balance-service", None),
        ]);
        assert_eq!(
            durable_of(&all),
            "audit-service_balance-service_history-service"
        );
    }

    #[test]
    fn the_feed_is_named_once_every_read_model_has_joined() {
        let feed = EventFeed::expecting(2);
        let mut two = members(&[("b", None), ("a", None)]).into_iter();
        assert!(feed.join(two.next().unwrap()).is_none());
        assert_eq!(feed.durable(), None);
        let all = feed.join(two.next().unwrap()).expect("the set is complete");
        assert_eq!(all.len(), 2);
        assert_eq!(feed.durable().as_deref(), Some("a_b"));
    }

    #[tokio::test]
    async fn a_new_consumer_starts_at_the_earliest_bootstrap_or_at_the_beginning() {
        let store: Arc<dyn StoreReads> = Arc::new(ledgerline_store::InMemoryEventStore::new());
        let early = OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1);
        let late = early + time::Duration::hours(1);
        let both = members(&[("a", Some(late)), ("b", Some(early))]);
        assert_eq!(start_of(&both, &store).await, Some(early));
        let one_from_the_beginning = members(&[("a", Some(late)), ("b", None)]);
        assert_eq!(start_of(&one_from_the_beginning, &store).await, None);
    }
}
