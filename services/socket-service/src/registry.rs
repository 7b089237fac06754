use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use ledgerline_bus::Bus;
use ledgerline_domain::{AccountId, UserId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::frame::Frame;

/// One open socket, as the fan-out sees it.
pub struct Connection {
    pub frames: mpsc::Sender<Frame>,
    /// Cancelled when the connection fell too far behind.
    pub kicked: CancellationToken,
}

/// A user with at least one open socket: their connections and the NATS
/// consumers that feed them (stopped when the last socket closes).
struct Hub {
    connections: HashMap<Uuid, Connection>,
    accounts: HashSet<AccountId>,
    stop: CancellationToken,
}

#[derive(Clone)]
pub struct Registry {
    hubs: Arc<Mutex<HashMap<UserId, Hub>>>,
    /// Serialises joins and leaves, so a hub is started and stopped once.
    membership: Arc<tokio::sync::Mutex<()>>,
    pub bus: Bus,
    /// How many frames may wait for one slow connection before it is closed.
    pub queue: usize,
    shutdown: CancellationToken,
}

impl Registry {
    pub fn new(bus: Bus, queue: usize, shutdown: CancellationToken) -> Self {
        Self {
            hubs: Arc::default(),
            membership: Arc::default(),
            bus,
            queue: queue.max(1),
            shutdown,
        }
    }

    fn hubs(&self) -> MutexGuard<'_, HashMap<UserId, Hub>> {
        self.hubs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a connection. Returns once the user's consumers are subscribed,
    /// so everything published after `join` returns reaches the socket.
    pub async fn join(&self, user: &UserId, id: Uuid, connection: Connection) {
        let _guard = self.membership.lock().await;
        if let Some(hub) = self.hubs().get_mut(user) {
            hub.connections.insert(id, connection);
            return;
        }
        let stop = self.shutdown.child_token();
        let hub = Hub {
            connections: HashMap::from([(id, connection)]),
            accounts: HashSet::new(),
            stop: stop.clone(),
        };
        self.hubs().insert(user.clone(), hub);
        crate::follow::start_user(self.clone(), user.clone(), stop).await;
    }

    pub async fn leave(&self, user: &UserId, id: Uuid) {
        let _guard = self.membership.lock().await;
        let mut hubs = self.hubs();
        if let Some(hub) = hubs.get_mut(user) {
            hub.connections.remove(&id);
            if hub.connections.is_empty() {
                hub.stop.cancel();
                hubs.remove(user);
            }
        }
    }

    /// Claims an account for the user's hub: `Some(stop)` the first time,
    /// so each account is followed once per hub.
    pub fn claim_account(&self, user: &UserId, account: &AccountId) -> Option<CancellationToken> {
        let mut hubs = self.hubs();
        let hub = hubs.get_mut(user)?;
        hub.accounts
            .insert(account.clone())
            .then(|| hub.stop.clone())
    }

    /// Sends one serialised frame to every connection of `user`. A
    /// connection whose queue is full is kicked: it gets a close with a
    /// reason and reconnects, instead of the server buffering without end.
    pub fn fan_out(&self, user: &UserId, frame: Frame) {
        let hubs = self.hubs();
        let Some(hub) = hubs.get(user) else { return };
        let (mut sent, mut kicked) = (0_u64, 0_u64);
        for connection in hub.connections.values() {
            if connection.frames.try_send(frame.clone()).is_ok() {
                sent += 1;
            } else if !connection.kicked.is_cancelled() {
                kicked += 1;
                connection.kicked.cancel();
            }
        }
        // Counted once per fan-out, not per recipient.
        metrics::counter!("ledgerline_socket_frames_total").increment(sent);
        metrics::counter!("ledgerline_socket_slow_consumer_closes_total").increment(kicked);
    }

    pub fn connection_count(&self) -> usize {
        self.hubs().values().map(|h| h.connections.len()).sum()
    }
}
