use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown};

use crate::registry::Registry;
use crate::upgrade::{SocketState, routes};

pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let registry = Registry::new(bus.clone(), config.socket_queue, shutdown.clone());
    let state = SocketState {
        registry,
        keys: keys.clone(),
        max_amount: config.max_amount,
        shutdown: shutdown.clone(),
    };
    let readiness = Readiness::default().nats(bus.client.clone());
    Ok(ServiceHandle::new(
        "socket-service",
        routes(state),
        readiness,
    ))
}
