use std::sync::Arc;
use std::time::Duration;

use ledgerline_auth::{TokenKeys, demo_login_routes};
use ledgerline_bus::{Bus, serve_acceptance};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use sqlx::migrate::Migrator;

use crate::recorder::Recorder;
use crate::routes::{ApiState, routes};
use crate::{AcceptService, outcomes, reconcile};

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
/// (the socket's door), the outcome follower and the reconciler.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    accept: AcceptService,
) -> anyhow::Result<ServiceHandle> {
    let pool = accept.pool.clone();
    let state = ApiState {
        accept: accept.clone(),
        keys: keys.clone(),
        body_limit: config.body_limit,
    };
    let mut router = routes(state, config.chaos_failure_rate);
    if config.demo_login {
        router = router.merge(demo_login_routes(keys.clone(), config.token_ttl_secs));
    }
    let consumer = bus.clone();
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", pool.clone())
        .check("consumers", move || {
            let bus = consumer.clone();
            async move {
                bus.consumer_pending(&bus.subjects.status_stream(), outcomes::DURABLE)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        });
    let pending = bus.clone().report_pending(
        bus.subjects.status_stream(),
        outcomes::DURABLE.to_owned(),
        shutdown.clone(),
    );
    Ok(ServiceHandle::new("command-api", router, readiness)
        .task(tokio::spawn(pending))
        .task(tokio::spawn(outcomes::follow_outcomes(
            bus.clone(),
            pool.clone(),
            shutdown.clone(),
        )))
        .task(tokio::spawn(reconcile::run(
            bus.clone(),
            pool,
            Duration::from_secs(config.reconcile_after_secs),
            shutdown.clone(),
        )))
        .task(tokio::spawn(serve_acceptance(
            bus.clone(),
            Arc::new(accept),
            shutdown.clone(),
        ))))
}
