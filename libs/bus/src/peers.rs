//! The components a service talks to across a boundary, behind their
//! traits: in `ledgerline all` each is the component itself, called in
//! process; in a split deployment its NATS client. A service holds a
//! [`Peers`] and never knows which.

use std::sync::Arc;

use ledgerline_store::StoreReads;

use crate::Acceptance;

#[derive(Clone)]
pub struct Peers {
    /// Reads of the event store (its owner: the `event-store` component).
    pub store: Arc<dyn StoreReads>,
    /// Acceptance of commands (its owner: the command API).
    pub acceptance: Arc<dyn Acceptance>,
}
