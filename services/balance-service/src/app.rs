use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_projection::{ensure_checkpoint_tables, run_projector, serve_projection_status};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use sqlx::migrate::Migrator;

use crate::Balances;
use crate::routes::{BalanceState, routes};

pub const SCHEMA: &str = "balances";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the AccountBalances projector (which also keeps DailySummary),
/// its status responder for `GET /projections`, and the routes — including
/// `GET /projections` itself, served here for the whole system.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let pool = connect_schema(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    ensure_checkpoint_tables(&pool).await?;
    let router = routes(BalanceState {
        pool: pool.clone(),
        keys: keys.clone(),
        bus: bus.clone(),
    });
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", pool.clone());
    let status = tokio::spawn(serve_projection_status::<Balances>(
        bus.clone(),
        pool.clone(),
        shutdown.clone(),
    ));
    let projector = tokio::spawn(run_projector(bus.clone(), pool, Balances, shutdown.clone()));
    Ok(ServiceHandle::new("balance-service", router, readiness)
        .task(projector)
        .task(status))
}
