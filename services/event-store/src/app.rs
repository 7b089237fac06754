use std::sync::Arc;

use ledgerline_auth::TokenKeys;
use ledgerline_bus::{Bus, serve_store_reads};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use ledgerline_store::{MIGRATOR, PostgresEventStore, SCHEMA};

use crate::routes::{QueryState, routes};

/// The event store of this process (migrated), before any component that
/// reads it in-process starts.
pub async fn open(config: &Config) -> anyhow::Result<PostgresEventStore> {
    let pool = connect_schema(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    Ok(PostgresEventStore::new(pool))
}

/// The query routes over `store`, and its reads served to other processes.
pub async fn start(
    bus: &Bus,
    store: PostgresEventStore,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", store.pool().clone());
    let router = routes(QueryState {
        store: store.clone(),
        keys: keys.clone(),
    });
    Ok(
        ServiceHandle::new("event-store", router, readiness).task(tokio::spawn(serve_store_reads(
            bus.clone(),
            Arc::new(store),
            shutdown.clone(),
        ))),
    )
}
