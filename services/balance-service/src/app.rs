use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_projection::{
    ReadModelDb, consumer_ready, report_lag, run_projector, serve_projection_status, serve_rebuild,
};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::Balances;
use crate::routes::{BalanceState, routes};

pub const SCHEMA: &str = "balances";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the AccountBalances projector (which also keeps DailySummary),
/// its status and rebuild responders, and the routes — including
/// `GET /projections` and `POST /projections/rebuild`, served here for the
/// whole system.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(BalanceState {
        db: db.clone(),
        keys: keys.clone(),
        bus: bus.clone(),
        body_limit: config.body_limit,
    });
    // Ready once PostgreSQL answers and the durable consumer is bound.
    let readiness =
        consumer_ready::<Balances>(db.ready(Readiness::default().nats(bus.client.clone())), bus);
    let status = tokio::spawn(serve_projection_status::<Balances>(
        bus.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let rebuild = tokio::spawn(serve_rebuild(
        bus.clone(),
        db.clone(),
        Balances,
        shutdown.clone(),
    ));
    let lag = tokio::spawn(report_lag::<Balances>(
        bus.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let projector = tokio::spawn(run_projector(bus.clone(), db, Balances, shutdown.clone()));
    Ok(ServiceHandle::new("balance-service", router, readiness)
        .task(projector)
        .task(status)
        .task(rebuild)
        .task(lag))
}
