use ledgerline_auth::TokenKeys;
use ledgerline_projection::{
    ReadModel, ReadModelDb, Sources, StartFrom, durable_ready, start_read_model,
};
use ledgerline_runtime::{Config, ServiceHandle, Shutdown};
use sqlx::migrate::Migrator;

use crate::routes::{AuditState, routes};
use crate::{AuditEvents, status_log};

pub const SCHEMA: &str = "audit";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Starts the AuditLog read model and its route, plus what only the audit
/// log has: the command-outcome follower on `bank.status.>` (ready once its
/// durable consumer is bound too, and its pending messages on `/metrics`).
pub async fn start(
    config: &Config,
    keys: &TokenKeys,
    shutdown: &Shutdown,
    sources: &Sources,
) -> anyhow::Result<ServiceHandle> {
    let db =
        ReadModelDb::connect(&config.database_url, SCHEMA, &MIGRATOR, config.db_pool_size).await?;
    let router = routes(AuditState {
        db: db.clone(),
        keys: keys.clone(),
    });
    let read_model = ReadModel {
        service: "audit-service",
        projector: AuditEvents,
        db: db.clone(),
        router,
        start_from: StartFrom::Stream,
    };
    let bus = &sources.bus;
    let mut handle = start_read_model(sources, shutdown, read_model);
    let stream = bus.subjects.status_stream();
    handle.readiness = durable_ready(
        handle.readiness,
        "status-consumer",
        bus,
        stream.clone(),
        status_log::DURABLE,
    );
    let pending =
        bus.clone()
            .report_pending(stream, status_log::DURABLE.to_owned(), shutdown.clone());
    let outcomes = status_log::follow_status(bus.clone(), db, shutdown.clone());
    Ok(handle
        .task(tokio::spawn(outcomes))
        .task(tokio::spawn(pending)))
}
