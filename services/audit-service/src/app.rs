use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_projection::{ensure_checkpoint_tables, run_projector, serve_projection_status};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown, connect_schema};
use sqlx::migrate::Migrator;

use crate::routes::{AuditState, routes};
use crate::{AuditEvents, status_log};

pub const SCHEMA: &str = "audit";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let pool = connect_schema(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    ensure_checkpoint_tables(&pool).await?;
    let router = routes(AuditState {
        pool: pool.clone(),
        keys: keys.clone(),
    });
    let readiness = Readiness::default()
        .nats(bus.client.clone())
        .postgres("postgres", pool.clone());
    Ok(ServiceHandle::new("audit-service", router, readiness)
        .task(tokio::spawn(run_projector(
            bus.clone(),
            pool.clone(),
            AuditEvents,
            shutdown.clone(),
        )))
        .task(tokio::spawn(serve_projection_status::<AuditEvents>(
            bus.clone(),
            pool.clone(),
            shutdown.clone(),
        )))
        .task(tokio::spawn(status_log::follow_status(
            bus.clone(),
            pool,
            shutdown.clone(),
        ))))
}
