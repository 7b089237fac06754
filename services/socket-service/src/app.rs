use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use ledgerline_auth::TokenKeys;
use ledgerline_bus::{Bus, Peers};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown};

use crate::connection::Shared;
use crate::registry::Registry;
use crate::upgrade::{SocketState, routes};

pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    peers: &Peers,
) -> anyhow::Result<ServiceHandle> {
    let registry = Registry::new(bus.clone(), peers.clone(), config.socket_queue);
    // Subscribed before the routes exist: no socket is welcomed before the
    // feed that serves it.
    let feed = crate::feed::start(&registry, shutdown)
        .await
        .context("starting the socket feed")?;
    let state = SocketState(Arc::new(Shared {
        registry,
        keys: keys.clone(),
        max_amount: config.max_amount,
        shutdown: shutdown.clone(),
        write_timeout: Duration::from_secs(config.socket_write_timeout_secs),
    }));
    let alive = feed.alive.clone();
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .check("feed", move || {
            let alive = alive.load(Ordering::Relaxed);
            async move {
                alive
                    .then_some(())
                    .ok_or_else(|| "the event or status subscription ended".to_owned())
            }
        });
    let handle = ServiceHandle::new("socket-service", routes(state), readiness);
    Ok(feed.tasks.into_iter().fold(handle, ServiceHandle::task))
}
