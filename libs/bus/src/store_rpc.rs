//! The event store's reads across processes: one [`Rpc`] per read of
//! [`StoreReads`], [`RemoteStore`] (the client a component holds when the
//! store's owner runs elsewhere) and [`serve_store_reads`] (what the owner
//! runs so that others can ask).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use ledgerline_contracts::{
    AccountEventsRequest, AccountsOfRequest, CommandKey, EventAtRequest, EventEnvelope,
    EventLocation, EventsRequest, HeadRequest, MarkedToldRequest, OutcomesRequest, StatusMessage,
};
use ledgerline_domain::{AccountId, UserId};
use ledgerline_store::{MAX_PAGE, ReadError, StoreReads, paged};
use tokio_util::sync::CancellationToken;

use crate::Bus;
use crate::rpc::{Rpc, RpcError};

macro_rules! store_rpc {
    ($name:ident, $subject:literal, $request:ty, $response:ty) => {
        pub struct $name;
        impl Rpc for $name {
            const NAME: &'static str = $subject;
            type Request = $request;
            type Response = Result<$response, ReadError>;
        }
    };
}

store_rpc!(
    AccountEvents,
    "store.account-events",
    AccountEventsRequest,
    Vec<EventEnvelope>
);
store_rpc!(Events, "store.events", EventsRequest, Vec<EventEnvelope>);
store_rpc!(Head, "store.head", HeadRequest, i64);
store_rpc!(
    AccountsOf,
    "store.accounts-of",
    AccountsOfRequest,
    Vec<AccountId>
);
store_rpc!(
    EventAt,
    "store.event-at",
    EventAtRequest,
    Option<EventLocation>
);
store_rpc!(Outcomes, "store.outcomes", OutcomesRequest, HashMap<CommandKey, StatusMessage>);
store_rpc!(
    MarkedTold,
    "store.marked-told",
    MarkedToldRequest,
    HashSet<CommandKey>
);

/// Events asked for in one request: 500 envelopes of the largest kind
/// (ids of 64 characters, a reference of 140 four-byte characters) stay
/// well under NATS's default payload limit of 1 MiB, where the 1,000 of
/// `MAX_PAGE` would not (see the test). A longer read is made of several
/// requests, one after another, and answers as one would have.
pub const RPC_PAGE: i64 = 500;

/// The event store of another process, read over NATS.
#[derive(Clone)]
pub struct RemoteStore {
    bus: Bus,
}

impl RemoteStore {
    pub fn new(bus: Bus) -> Self {
        Self { bus }
    }

    async fn call<R: Rpc<Response = Result<T, ReadError>>, T>(
        &self,
        request: &R::Request,
    ) -> Result<T, ReadError> {
        self.bus
            .call::<R>(request)
            .await
            .map_err(|e: RpcError| ReadError::Unavailable(e.to_string()))?
    }
}

type Read<'a, T> = BoxFuture<'a, Result<T, ReadError>>;

impl StoreReads for RemoteStore {
    fn account_events<'a>(
        &'a self,
        account: &'a AccountId,
        after_version: i64,
        limit: i64,
    ) -> Read<'a, Vec<EventEnvelope>> {
        Box::pin(async move {
            paged(
                limit.clamp(1, MAX_PAGE),
                after_version.max(0),
                RPC_PAGE,
                |e| e.version,
                move |after, wanted| async move {
                    let request = AccountEventsRequest {
                        account_id: account.clone(),
                        after_version: after,
                        limit: wanted,
                    };
                    let page = self.call::<AccountEvents, _>(&request).await?;
                    // Trust, but check: only this account's events, in version order.
                    let ordered = page.windows(2).all(|w| w[0].version < w[1].version);
                    let foreign = page
                        .iter()
                        .any(|e| &e.aggregate_id != account || e.version <= after);
                    if !ordered || foreign {
                        return Err(ReadError::Corrupt(format!(
                            "events of {account} out of order or of another account"
                        )));
                    }
                    Ok(page)
                },
            )
            .await
        })
    }

    fn events<'a>(
        &'a self,
        after_position: i64,
        limit: i64,
        owner: Option<&'a UserId>,
    ) -> Read<'a, Vec<EventEnvelope>> {
        Box::pin(async move {
            paged(
                limit.clamp(1, MAX_PAGE),
                after_position.max(0),
                RPC_PAGE,
                |e| e.global_position,
                move |after, wanted| async move {
                    let request = EventsRequest {
                        after_position: after,
                        limit: wanted,
                        owner: owner.cloned(),
                    };
                    self.call::<Events, _>(&request).await
                },
            )
            .await
        })
    }

    fn head(&self) -> Read<'_, i64> {
        Box::pin(async move { self.call::<Head, _>(&HeadRequest {}).await })
    }

    fn accounts_of<'a>(&'a self, owner: &'a UserId) -> Read<'a, Vec<AccountId>> {
        Box::pin(async move {
            let request = AccountsOfRequest {
                owner: owner.clone(),
            };
            self.call::<AccountsOf, _>(&request).await
        })
    }

    fn event_at(&self, position: i64) -> Read<'_, Option<EventLocation>> {
        Box::pin(async move { self.call::<EventAt, _>(&EventAtRequest { position }).await })
    }

    fn outcomes<'a>(
        &'a self,
        keys: &'a [CommandKey],
    ) -> Read<'a, HashMap<CommandKey, StatusMessage>> {
        Box::pin(async move {
            let request = OutcomesRequest {
                keys: keys.to_vec(),
            };
            self.call::<Outcomes, _>(&request).await
        })
    }

    fn marked_told<'a>(&'a self, keys: &'a [CommandKey]) -> Read<'a, HashSet<CommandKey>> {
        Box::pin(async move {
            let request = MarkedToldRequest {
                keys: keys.to_vec(),
            };
            let told = self.call::<MarkedTold, _>(&request).await?;
            // Trust, but check: only keys that were asked about.
            let asked: HashSet<&CommandKey> = keys.iter().collect();
            if told.iter().any(|k| !asked.contains(k)) {
                return Err(ReadError::Corrupt(
                    "told keys that were not asked about".into(),
                ));
            }
            Ok(told)
        })
    }
}

/// Answers the reads of [`StoreReads`] for other processes, from `store`.
pub async fn serve_store_reads(bus: Bus, store: Arc<dyn StoreReads>, shutdown: CancellationToken) {
    let s = store.clone();
    let account_events = bus.serve::<AccountEvents, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move {
                s.account_events(&r.account_id, r.after_version, r.limit)
                    .await
            })
        },
        shutdown.clone(),
    );
    let s = store.clone();
    let events = bus.serve::<Events, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move { s.events(r.after_position, r.limit, r.owner.as_ref()).await })
        },
        shutdown.clone(),
    );
    let s = store.clone();
    let head = bus.serve::<Head, _>(
        move |_| {
            let s = s.clone();
            Box::pin(async move { s.head().await })
        },
        shutdown.clone(),
    );
    let s = store.clone();
    let accounts_of = bus.serve::<AccountsOf, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move { s.accounts_of(&r.owner).await })
        },
        shutdown.clone(),
    );
    let s = store.clone();
    let event_at = bus.serve::<EventAt, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move { s.event_at(r.position).await })
        },
        shutdown.clone(),
    );
    let s = store.clone();
    let outcomes = bus.serve::<Outcomes, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move { s.outcomes(&r.keys).await })
        },
        shutdown.clone(),
    );
    let s = store;
    let marked_told = bus.serve::<MarkedTold, _>(
        move |r| {
            let s = s.clone();
            Box::pin(async move { s.marked_told(&r.keys).await })
        },
        shutdown,
    );
    tokio::join!(
        account_events,
        events,
        head,
        accounts_of,
        event_at,
        outcomes,
        marked_told
    );
}
