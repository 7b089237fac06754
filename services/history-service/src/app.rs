use ledgerline_auth::TokenKeys;
use ledgerline_bus::Bus;
use ledgerline_projection::{
    ReadModelDb, consumer_ready, report_lag, run_projector_bootstrapped, serve_projection_status,
    serve_rebuild,
};
use ledgerline_runtime::{Config, Readiness, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::History;
use crate::routes::{HistoryState, routes};

pub const SCHEMA: &str = "history";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the TransactionHistory projector — bootstrapped from the event
/// store when its read model is new — its status and rebuild responders,
/// and its route.
pub async fn start(
    config: &Config,
    bus: &Bus,
    keys: &TokenKeys,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(HistoryState {
        db: db.clone(),
        keys: keys.clone(),
        bus: bus.clone(),
    });
    // Ready once PostgreSQL answers and the durable consumer is bound.
    let readiness =
        consumer_ready::<History>(db.ready(Readiness::default().nats(bus.client.clone())), bus);
    let status = tokio::spawn(serve_projection_status::<History>(
        bus.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let rebuild = tokio::spawn(serve_rebuild(
        bus.clone(),
        db.clone(),
        History,
        shutdown.clone(),
    ));
    let lag = tokio::spawn(report_lag::<History>(
        bus.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let projector = tokio::spawn(run_projector_bootstrapped(
        bus.clone(),
        db,
        History,
        shutdown.clone(),
    ));
    Ok(ServiceHandle::new("history-service", router, readiness)
        .task(projector)
        .task(status)
        .task(rebuild)
        .task(lag))
}
