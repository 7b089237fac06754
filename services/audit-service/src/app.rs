use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_projection::{
    ReadModelDb, consumer_ready, report_lag, run_projector, serve_projection_status, serve_rebuild,
};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::routes::{AuditState, routes};
use crate::{AuditEvents, status_log};

pub const SCHEMA: &str = "audit";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the AuditLog projector, the command-outcome follower, the status
/// and rebuild responders, and the route.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(AuditState {
        db: db.clone(),
        keys: keys.clone(),
    });
    // Ready once PostgreSQL answers and both durable consumers are bound.
    let statuses = bus.clone();
    let readiness =
        consumer_ready::<AuditEvents>(db.ready(Readiness::default().nats(bus.client.clone())), bus)
            .check("status-consumer", move || {
                let bus = statuses.clone();
                async move {
                    bus.consumer_pending(&bus.subjects.status_stream(), status_log::DURABLE)
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{}: {e}", status_log::DURABLE))
                }
            });
    Ok(ServiceHandle::new("audit-service", router, readiness)
        .task(tokio::spawn(run_projector(
            bus.clone(),
            db.clone(),
            AuditEvents,
            shutdown.clone(),
        )))
        .task(tokio::spawn(serve_projection_status::<AuditEvents>(
            bus.clone(),
            db.clone(),
            shutdown.clone(),
        )))
        .task(tokio::spawn(serve_rebuild(
            bus.clone(),
            db.clone(),
            AuditEvents,
            shutdown.clone(),
        )))
        .task(tokio::spawn(report_lag::<AuditEvents>(
            bus.clone(),
            db.clone(),
            shutdown.clone(),
        )))
        .task(tokio::spawn(status_log::follow_status(
            bus.clone(),
            db,
            shutdown.clone(),
        ))))
}
