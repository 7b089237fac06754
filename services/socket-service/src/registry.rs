use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::FutureExt;
use ledgerline_bus::{Bus, Peers};
use ledgerline_domain::{AccountId, UserId};
use ledgerline_store::StoreReads;
use uuid::Uuid;

use crate::routes::{Connection, Ready, Routes};

/// How long a join waits for the accounts a user owns.
const ACCOUNTS_OF_TIMEOUT: Duration = Duration::from_secs(2);

/// The routing table, shared by the sockets (which join and leave it) and
/// the process-wide feed (which routes through it).
#[derive(Clone)]
pub struct Registry {
    routes: Arc<Mutex<Routes>>,
    pub bus: Bus,
    /// The event store's reads and command acceptance, in this process or
    /// over NATS.
    pub peers: Peers,
    /// How many frames may wait for one slow connection before it is closed.
    pub queue: usize,
}

impl Registry {
    pub fn new(bus: Bus, peers: Peers, queue: usize) -> Self {
        Self {
            routes: Arc::default(),
            bus,
            peers,
            queue: queue.max(1),
        }
    }

    /// The table, for one short, synchronous look (never held across an
    /// `.await`).
    pub fn routes(&self) -> MutexGuard<'_, Routes> {
        lock(&self.routes)
    }

    /// Adds a connection. Returns once the user's accounts are in the
    /// table, so — the feed being subscribed before the service serves at
    /// all — everything published after `join` returns reaches the socket.
    /// Each user's lookup is their own: one slow lookup holds up no one
    /// else's socket.
    pub async fn join(&self, user: &UserId, id: Uuid, connection: Connection) {
        let ready = self
            .routes()
            .join(user, id, connection, || self.learn_accounts(user));
        ready.await;
    }

    pub fn leave(&self, user: &UserId, id: Uuid) {
        self.routes().leave(user, id);
    }

    /// The hub exists before the lookup is asked: an `AccountOpened` of the
    /// user that the feed sees from now on is adopted there, and what was
    /// committed (and published) before is in the lookup's answer.
    fn learn_accounts(&self, user: &UserId) -> Ready {
        // Weak: the table holds this future until it is done.
        let routes: Weak<Mutex<Routes>> = Arc::downgrade(&self.routes);
        let (store, user) = (self.peers.store.clone(), user.clone());
        async move {
            let accounts = owned_accounts(store.as_ref(), &user).await;
            if let Some(routes) = routes.upgrade() {
                let mut routes = lock(&routes);
                for account in &accounts {
                    routes.adopt(&user, account);
                }
            }
        }
        .boxed()
        .shared()
    }
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(|p| p.into_inner())
}

/// The accounts `user` owns, from the event store. Without an answer the
/// socket still opens, and follows only the accounts opened from now on.
async fn owned_accounts(store: &dyn StoreReads, user: &UserId) -> Vec<AccountId> {
    match tokio::time::timeout(ACCOUNTS_OF_TIMEOUT, store.accounts_of(user)).await {
        Ok(Ok(accounts)) => accounts,
        _ => {
            tracing::warn!(%user, "accounts-of lookup failed; following new accounts only");
            Vec::new()
        }
    }
}
