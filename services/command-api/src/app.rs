use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledgerline_auth::{TokenKeys, demo_login_routes};
use ledgerline_bus::{Bus, Peers, serve_acceptance};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use sqlx::migrate::Migrator;

use crate::api_document::api_document_routes;
use crate::recorder::Recorder;
use crate::routes::{ApiState, routes};
use crate::{AcceptService, reconcile};

pub const SCHEMA: &str = "commands";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The command API's acceptance (its schema migrated), before any
/// component that accepts commands through it in-process starts.
pub async fn open(config: &Config, bus: &Bus) -> anyhow::Result<AcceptService> {
    let pool = connect_schema(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    Ok(AcceptService {
        pool: pool.clone(),
        recorder: Recorder::start(pool),
        bus: bus.clone(),
        max_amount: config.max_amount,
    })
}

/// The command routes over `accept`, acceptance served to other processes
/// (the socket's door), and the reconciler. Outcomes are read from the
/// event store (`peers.store`) when asked for, never copied here.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    accept: AcceptService,
    peers: &Peers,
) -> anyhow::Result<ServiceHandle> {
    let pool = accept.pool.clone();
    let state = ApiState {
        accept: accept.clone(),
        store: peers.store.clone(),
        keys: keys.clone(),
        body_limit: config.body_limit,
    };
    let mut router = routes(state, config.chaos_failure_rate)
        .merge(api_document_routes().context("reading the OpenAPI document")?);
    if config.demo_login {
        router = router.merge(demo_login_routes(keys.clone(), config.token_ttl_secs));
    }
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", pool.clone());
    Ok(ServiceHandle::new("command-api", router, readiness)
        .task(tokio::spawn(reconcile::run(
            bus.clone(),
            pool,
            peers.store.clone(),
            Duration::from_secs(config.reconcile_after_secs),
            shutdown.clone(),
        )))
        .task(tokio::spawn(serve_acceptance(
            bus.clone(),
            Arc::new(accept),
            shutdown.clone(),
        ))))
}
