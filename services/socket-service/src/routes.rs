//! Who gets what: each user with an open socket (a *hub*), their
//! connections, and the accounts they own. The process-wide feed routes
//! every status by its user and every event by its account's owner through
//! this table; it holds only users with a socket open here.

use std::collections::{HashMap, HashSet};

use futures::future::{BoxFuture, Shared};
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

/// Done once a new hub knows the accounts its user owns: every
/// connection of the hub waits for it before it is welcomed.
pub type Ready = Shared<BoxFuture<'static, ()>>;

struct Hub {
    connections: HashMap<Uuid, Connection>,
    /// What this hub put in `owners`, to take out again when it closes.
    accounts: HashSet<AccountId>,
    ready: Ready,
}

#[derive(Default)]
pub struct Routes {
    hubs: HashMap<UserId, Hub>,
    /// account → owner, for the accounts of users with a hub.
    owners: HashMap<AccountId, UserId>,
}

impl Routes {
    /// Adds a connection. The first connection of a user opens the hub with
    /// `learn_accounts()`; every connection gets the hub's readiness.
    pub fn join(
        &mut self,
        user: &UserId,
        id: Uuid,
        connection: Connection,
        learn_accounts: impl FnOnce() -> Ready,
    ) -> Ready {
        let hub = self.hubs.entry(user.clone()).or_insert_with(|| Hub {
            connections: HashMap::new(),
            accounts: HashSet::new(),
            ready: learn_accounts(),
        });
        hub.connections.insert(id, connection);
        hub.ready.clone()
    }

    /// Removes a connection; the last one closes the hub and forgets its
    /// accounts.
    pub fn leave(&mut self, user: &UserId, id: Uuid) {
        let Some(hub) = self.hubs.get_mut(user) else {
            return;
        };
        hub.connections.remove(&id);
        if hub.connections.is_empty()
            && let Some(hub) = self.hubs.remove(user)
        {
            for account in hub.accounts {
                self.owners.remove(&account);
            }
        }
    }

    /// Routes `account`'s events to `owner`'s sockets, if `owner` has a hub.
    pub fn adopt(&mut self, owner: &UserId, account: &AccountId) {
        if let Some(hub) = self.hubs.get_mut(owner) {
            hub.accounts.insert(account.clone());
            self.owners.insert(account.clone(), owner.clone());
        }
    }

    pub fn has_hub(&self, user: &UserId) -> bool {
        self.hubs.contains_key(user)
    }

    pub fn is_empty(&self) -> bool {
        self.hubs.is_empty()
    }

    /// Sends a frame to every socket of `user` (a status envelope).
    pub fn send_to_user(&self, user: &UserId, frame: Frame) {
        if let Some(hub) = self.hubs.get(user) {
            hub.send(frame);
        }
    }

    /// Sends a frame to every socket of the account's owner (an event):
    /// no one else's.
    pub fn send_to_owner(&self, account: &AccountId, frame: Frame) {
        if let Some(owner) = self.owners.get(account) {
            self.send_to_user(owner, frame);
        }
    }
}

impl Hub {
    /// Hands one serialised frame to every connection. A connection whose
    /// queue is full is kicked: it gets a close with a reason and
    /// reconnects, instead of the server buffering without end.
    fn send(&self, frame: Frame) {
        let (mut sent, mut kicked) = (0_u64, 0_u64);
        for connection in self.connections.values() {
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
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;
    use ledgerline_contracts::{EventEnvelope, StatusEnvelope};

    use super::*;

    fn user(name: &str) -> UserId {
        UserId::parse(name).unwrap()
    }
    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }
    fn ready() -> Ready {
        futures::future::ready(()).boxed().shared()
    }
    fn connect(
        routes: &mut Routes,
        who: &str,
        queue: usize,
    ) -> (Uuid, mpsc::Receiver<Frame>, CancellationToken) {
        let (frames, receiver) = mpsc::channel(queue);
        let kicked = CancellationToken::new();
        let id = Uuid::now_v7();
        let connection = Connection {
            frames,
            kicked: kicked.clone(),
        };
        drop(routes.join(&user(who), id, connection, ready));
        (id, receiver, kicked)
    }
    fn status() -> Frame {
        let mut payload = StatusEnvelope::new(Uuid::now_v7(), "acc", Ok(vec![]));
        payload.seq = Some(1);
        Frame::status(&payload).unwrap()
    }
    fn event(of: &str) -> Frame {
        let event: EventEnvelope = serde_json::from_value(serde_json::json!({
            "eventId": Uuid::now_v7(), "aggregateType": "BankAccount", "aggregateId": of,
            "version": 1, "globalPosition": 1, "eventType": "AccountClosed", "schemaVersion": 1,
            "data": {}, "metadata": {"commandId": Uuid::now_v7(), "correlationId": Uuid::now_v7(),
            "userId": "alice", "timestamp": "2026-11-22T10:00:00Z"}
        }))
        .unwrap();
        Frame::event(event, Some(1)).unwrap()
    }

    #[test]
    fn events_reach_only_the_owners_sockets_and_only_while_they_are_open() {
        let mut routes = Routes::default();
        let (alice_id, mut alice, _) = connect(&mut routes, "alice", 8);
        let (_, mut bob, _) = connect(&mut routes, "bob", 8);
        routes.adopt(&user("alice"), &account("acc-a"));
        routes.adopt(&user("carol"), &account("acc-c")); // no hub: not routed

        routes.send_to_owner(&account("acc-a"), event("acc-a"));
        routes.send_to_owner(&account("acc-c"), event("acc-c"));
        routes.send_to_user(&user("bob"), status());
        assert!(alice.try_recv().is_ok());
        assert!(alice.try_recv().is_err());
        assert!(bob.try_recv().is_ok());
        assert!(bob.try_recv().is_err());

        routes.leave(&user("alice"), alice_id);
        assert!(!routes.has_hub(&user("alice")));
        assert!(
            routes.owners.is_empty(),
            "a closed hub's accounts are forgotten"
        );
    }

    #[test]
    fn a_connection_with_a_full_queue_is_kicked_and_the_others_still_served() {
        let mut routes = Routes::default();
        let (_, _slow, kicked) = connect(&mut routes, "alice", 1);
        let (_, mut fast, fast_kicked) = connect(&mut routes, "alice", 8);
        routes.send_to_user(&user("alice"), status());
        routes.send_to_user(&user("alice"), status());
        assert!(kicked.is_cancelled());
        assert!(!fast_kicked.is_cancelled());
        assert!(fast.try_recv().is_ok() && fast.try_recv().is_ok());
    }
}
