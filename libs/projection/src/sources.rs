//! Where a read model's events come from: the event stream (JetStream,
//! through the bus) and the event store's reads (its owner — the store
//! itself when it runs in this process, else its NATS client), for healing
//! a gap, replaying the store and telling the lag; and the other read
//! models of this process, with the event feed they share.

use std::sync::Arc;

use ledgerline_bus::Bus;
use ledgerline_store::StoreReads;

use crate::feed::EventFeed;
use crate::read_models::LocalReadModels;

#[derive(Clone)]
pub struct Sources {
    pub bus: Bus,
    pub store: Arc<dyn StoreReads>,
    /// The read models of this process (for the admin routes).
    pub read_models: LocalReadModels,
    /// The one consumer of the event stream the process's read models
    /// share.
    pub feed: EventFeed,
}
